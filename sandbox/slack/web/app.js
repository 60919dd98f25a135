// The natlink sandbox's Slack page. No framework, no innerHTML: every node is built with
// createElement and textContent, so nothing the bot or a user sends can become markup.
"use strict";

const S = {
  users: {},        // id -> {name}
  workspace: null,  // the stand-in's description
  me: null,         // current user id
  channel: null,    // current channel id
  state: null,      // last /web/state answer
  version: 0,
  openView: null,   // id of the modal on screen
  home: false,      // natlink's Home tab on screen instead of a channel
  polling: null,
  azure: null,
  portal: { alias: "", name: "" },  // the portal form's values, kept across re-renders
  thread: null,     // {channel, ts} of the thread open in the side pane
  shownChannel: null, // the channel the message list shows: another one opens at its newest message
};

const EMOJI = {
  white_check_mark: "\u2705", x: "\u274c", warning: "\u26a0\ufe0f", hourglass_flowing_sand: "\u23f3",
  no_entry: "\u26d4", link: "\ud83d\udd17", rocket: "\ud83d\ude80", lock: "\ud83d\udd12",
  red_circle: "\ud83d\udd34", large_green_circle: "\ud83d\udfe2", information_source: "\u2139\ufe0f",
  hourglass: "\u231b", wave: "\ud83d\udc4b", tada: "\ud83c\udf89", bell: "\ud83d\udd14",
  heavy_check_mark: "\u2714\ufe0f", stop_sign: "\ud83d\uded1", zzz: "\ud83d\udca4", boom: "\ud83d\udca5",
  rotating_light: "\ud83d\udea8", wastebasket: "\ud83d\uddd1\ufe0f", white_circle: "\u26aa",
};

// -- small helpers ----------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: { "Content-Type": "application/json" } };
  if (body !== undefined) options.body = JSON.stringify(body);
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return { status: response.status, data: data || {} };
}

function notice(text) {
  const node = document.getElementById("notice");
  node.textContent = text || "";
  node.hidden = !text;
}

function decodeEntities(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function withEmoji(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
}

function userName(id) {
  const user = S.users[id];
  return user ? user.name : id;
}

function channelName(id) {
  const channel = (S.state && S.state.channels || []).find((c) => c.id === id);
  if (channel) return channel.name;
  for (const [name, cid] of Object.entries((S.workspace && S.workspace.channels) || {})) {
    if (cid === id) return name;
  }
  return id;
}

// -- mrkdwn -----------------------------------------------------------------------------------

// One pass over the text: the earliest of <special>, `code`, *bold*, _italic_, ~strike~ wins.
const INLINE = [
  ["angle", /<([^<>\n]+)>/],
  ["code", /`([^`\n]+)`/],
  ["bold", /(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])/],
  ["italic", /(?<![\w])_(?!\s)([^_\n]+?)_(?![\w])/],
  ["strike", /(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])/],
];

function renderInline(text, parent) {
  while (text) {
    let best = null;
    for (const [kind, pattern] of INLINE) {
      const match = pattern.exec(text);
      if (match && (best === null || match.index < best.match.index)) best = { kind, match };
    }
    if (best === null) { parent.append(withEmoji(decodeEntities(text))); return; }
    const { kind, match } = best;
    if (match.index > 0) parent.append(withEmoji(decodeEntities(text.slice(0, match.index))));
    parent.append(renderToken(kind, match[1]));
    text = text.slice(match.index + match[0].length);
  }
}

function renderToken(kind, inner) {
  if (kind === "code") return el("code", { text: decodeEntities(inner) });
  if (kind === "angle") return renderAngle(inner);
  const tag = { bold: "b", italic: "i", strike: "s" }[kind];
  const node = el(tag);
  renderInline(inner, node);
  return node;
}

function renderAngle(inner) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : "";
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return el("span", { class: "mention", "data-user": id, text: "@" + (S.users[id] ? userName(id) : decodeEntities(label || id)) });
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const known = channelName(id);
    return el("span", { class: "mention", "data-channel": id, text: "#" + (known !== id ? known : decodeEntities(label || id)) });
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    return el("span", { class: "mention", text: "@" + (label ? decodeEntities(label).replace(/^@/, "") : word) });
  }
  const url = decodeEntities(target);
  if (/^(https?:|mailto:)/i.test(url)) {
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: decodeEntities(label || target) });
  }
  return document.createTextNode(decodeEntities(label || target));
}

function renderMrkdwn(text, parent) {
  const parts = String(text || "").split("```");
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      parent.append(el("pre", { text: decodeEntities(part.replace(/^\n/, "")) }));
    } else {
      renderInline(i % 2 === 1 ? "```" + part : part, parent);
    }
  });
  return parent;
}

function renderText(obj, className) {
  const node = el("div", { class: "mrkdwn " + (className || "") });
  if (!obj) return node;
  if (obj.type === "mrkdwn") renderMrkdwn(obj.text, node);
  else node.textContent = obj.emoji === false ? obj.text : withEmoji(obj.text || "");
  return node;
}

// -- Block Kit ----------------------------------------------------------------------------------

function renderBlocks(blocks, ctx) {
  return blocks.map((block) => renderBlock(block, ctx));
}

function renderBlock(block, ctx) {
  const wrap = el("div", { class: "block block-" + block.type, "data-block-id": block.block_id, "data-block-type": block.type });
  switch (block.type) {
    case "header":
      wrap.append(renderText(block.text));
      break;
    case "section":
      if (block.text) wrap.append(renderText(block.text));
      if (block.fields) wrap.append(el("div", { class: "fields" }, block.fields.map((f) => renderText(f, "field"))));
      if (block.accessory) wrap.append(renderElement(block.accessory, block, ctx));
      break;
    case "context":
      for (const item of block.elements || []) {
        if (item.type === "image") wrap.append(el("span", { text: "[" + (item.alt_text || "image") + "] " }));
        else wrap.append(renderText(item));
      }
      break;
    case "divider":
      return el("hr", { class: "block block-divider", "data-block-type": "divider" });
    case "actions":
      for (const item of block.elements || []) wrap.append(renderElement(item, block, ctx));
      break;
    case "input":
      wrap.append(renderInput(block, ctx));
      break;
    case "image":
      wrap.append(el("span", { text: "[image: " + (block.alt_text || "") + "]" }));
      break;
    case "rich_text":
      wrap.append(el("div", { class: "mrkdwn", text: ctx.fallback || "" }));
      break;
    default:
      wrap.append(el("em", { text: "[unsupported block: " + block.type + "]" }));
  }
  return wrap;
}

function renderElement(item, block, ctx) {
  if (item.type !== "button") {
    return el("span", { class: "unsupported", text: "[" + item.type + "]" });
  }
  const label = item.text ? withEmoji(item.text.text || "") : "";
  const button = el("button", {
    type: "button",
    class: "btn " + (item.style || ""),
    "data-testid": "action-button",
    "data-action-id": item.action_id,
    "data-block-id": block.block_id,
    "data-style": item.style,
    text: label,
  });
  if (ctx.inModal || !ctx.message) {
    button.disabled = true;
    return button;
  }
  button.addEventListener("click", async () => {
    if (item.confirm && !(await confirmDialog(item.confirm))) return;
    button.disabled = true;
    const answer = await api("POST", "/web/click", {
      user: S.me, channel: ctx.channel, ts: ctx.message.ts, action_id: item.action_id,
      block_id: block.block_id, value: item.value,
    });
    button.disabled = false;
    if (!answer.data.ok) notice("The click was not accepted: " + JSON.stringify(answer.data));
    else notice("");
    refresh();
  });
  return button;
}

function renderInput(block, ctx) {
  const element = block.element || {};
  const id = "input-" + block.block_id;
  const label = el("label", { for: id, text: (block.label && block.label.text) || block.block_id });
  if (block.optional) label.append(el("span", { class: "hint", text: " (optional)" }));
  let field;
  if (element.type === "plain_text_input") {
    const attrs = {
      id, "data-testid": "modal-input", "data-block-id": block.block_id, "data-action-id": element.action_id,
      maxlength: element.max_length, placeholder: element.placeholder && element.placeholder.text,
    };
    field = element.multiline ? el("textarea", attrs) : el("input", Object.assign({ type: "text" }, attrs));
    if (element.initial_value) field.value = element.initial_value;
  } else if (element.type === "conversations_select" || element.type === "channels_select") {
    // the channels the person is in, as Slack's picker offers them
    const mine = (S.state && S.state.channels || []).filter((c) => !c.is_im);
    field = el("select", { id, "data-testid": "modal-input", "data-block-id": block.block_id, "data-action-id": element.action_id },
      el("option", { value: "", text: "Choose a channel" }), ...mine.map((c) => el("option", { value: c.id, text: "#" + c.name })));
  } else if (element.type === "external_select") {
    field = renderPicker(block, element, id, ctx);
  } else {
    field = el("em", { text: "[unsupported input: " + element.type + "]" });
  }
  return el("div", { class: "input-block" },
    label, field,
    block.hint ? el("div", { class: "hint", text: block.hint.text }) : null,
    el("div", { class: "error", "data-testid": "modal-error", "data-block-id": block.block_id }));
}

// A searchable picker, as Slack's external_select: typing (from min_query_length characters, 3 by
// default) asks the app for options through the stand-in (an options load), and a choice is kept
// in a hidden input with its text, sent on submit as the option Slack would send.
function renderPicker(block, element, id, ctx) {
  const chosen = el("input", {
    type: "hidden", "data-testid": "modal-input", "data-kind": "external_select",
    "data-block-id": block.block_id, "data-action-id": element.action_id,
  });
  const search = el("input", {
    id, type: "text", "data-testid": "picker-search", "data-block-id": block.block_id,
    placeholder: (element.placeholder && element.placeholder.text) || "Search", autocomplete: "off",
  });
  const list = el("ul", { class: "picker-options", "data-testid": "picker-options", "data-block-id": block.block_id, hidden: true });
  const least = Number.isInteger(element.min_query_length) ? element.min_query_length : 3;
  let asked = 0;
  const load = async () => {
    if (search.value.length < least) { list.hidden = true; return; }
    const mine = ++asked;
    const answer = await api("POST", "/web/suggest", { user: S.me, view_id: ctx.viewId, block_id: block.block_id, value: search.value });
    if (mine !== asked) return;  // a later keystroke's answer wins
    const options = answer.data.ok ? answer.data.options : [];
    const items = [];
    let group = null;
    for (const option of options) {
      if (option.group && option.group !== group) {
        group = option.group;
        items.push(el("li", { class: "picker-group", text: group }));
      }
      items.push(el("li", {
        class: "picker-option", "data-testid": "picker-option", "data-value": option.value, text: option.text,
        onmousedown: (event) => {
          event.preventDefault();
          chosen.value = option.value;
          chosen.dataset.text = option.text;
          search.value = option.text;
          list.hidden = true;
        },
      }));
    }
    if (!items.length) items.push(el("li", { class: "picker-empty", text: answer.data.ok ? "No results" : "Could not load options" }));
    list.replaceChildren(...items);
    list.hidden = false;
  };
  search.addEventListener("focus", load);
  search.addEventListener("input", () => { chosen.value = ""; load(); });
  search.addEventListener("blur", () => { list.hidden = true; });
  return el("div", { class: "picker", "data-testid": "picker", "data-block-id": block.block_id }, search, list, chosen);
}

// -- shortcuts ----------------------------------------------------------------------------------

// Slack lists an app's global shortcuts under the composer's lightning button, and its message
// shortcuts under each message's "More actions"; both come from the app's declaration.
function shortcutMenu(kind, anchor, pick) {
  const overlay = document.getElementById("menu");
  const shortcuts = ((S.workspace && S.workspace.shortcuts) || []).filter((s) => s.type === kind);
  const close = () => { overlay.hidden = true; overlay.replaceChildren(); };
  overlay.replaceChildren(el("div", { class: "menu", "data-testid": kind + "-shortcuts" },
    shortcuts.map((s) => el("button", {
      type: "button", class: "menu-item", "data-testid": "shortcut-item", "data-callback-id": s.callback_id,
      title: s.description, onclick: () => { close(); pick(s); },
    }, el("b", { text: s.name }), el("span", { class: "hint", text: " natlink" }))),
    el("button", { type: "button", class: "menu-item", text: "Cancel", onclick: close })));
  const box = anchor.getBoundingClientRect();
  overlay.style.left = Math.max(8, box.left) + "px";
  overlay.style.top = Math.max(8, box.top - 8 - 40 * (shortcuts.length + 1)) + "px";
  overlay.hidden = false;
}

async function runShortcut(path, spec) {
  const answer = await api("POST", path, Object.assign({ user: S.me }, spec));
  if (!answer.data.ok) notice("The shortcut failed: " + JSON.stringify(answer.data));
  else notice("");
  refresh();
}

// -- dialogs ----------------------------------------------------------------------------------

function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const overlay = document.getElementById("overlay");
    const close = (answer) => { overlay.hidden = true; overlay.replaceChildren(); resolve(answer); };
    const dialog = el("div", { class: "dialog", role: "dialog", "data-testid": "confirm-dialog" },
      el("h2", { text: (confirm.title && confirm.title.text) || "Are you sure?" }),
      renderText(confirm.text || { type: "plain_text", text: "" }),
      el("div", { class: "foot" },
        el("button", { type: "button", class: "btn", "data-testid": "confirm-deny", text: (confirm.deny && confirm.deny.text) || "Cancel", onclick: () => close(false) }),
        el("button", { type: "button", class: "btn " + (confirm.style || "primary"), "data-testid": "confirm-ok", text: (confirm.confirm && confirm.confirm.text) || "Yes", onclick: () => close(true) })));
    overlay.replaceChildren(dialog);
    overlay.hidden = false;
  });
}

function showModal(view) {
  const overlay = document.getElementById("overlay");
  if (overlay.querySelector("[data-testid=confirm-dialog]")) return;
  if (!view) {
    if (overlay.querySelector("[data-testid=modal]")) { overlay.hidden = true; overlay.replaceChildren(); }
    S.openView = null;
    return;
  }
  const signature = view.id + "/" + view.hash;
  if (S.openView === signature) return;
  S.openView = signature;
  const form = el("form", { class: "dialog", role: "dialog", "data-testid": "modal", "data-view-id": view.id, "data-callback-id": view.callback_id });
  form.append(el("h2", { "data-testid": "modal-title", text: (view.title && view.title.text) || "" }));
  form.append(...renderBlocks(view.blocks || [], { inModal: true, viewId: view.id }));
  form.append(el("div", { class: "form-error", "data-testid": "modal-form-error" }));
  form.append(el("div", { class: "foot" },
    el("button", { type: "button", class: "btn", "data-testid": "modal-close", text: (view.close && view.close.text) || "Cancel", onclick: () => closeModal(view.id) }),
    view.submit ? el("button", { type: "submit", class: "btn primary", "data-testid": "modal-submit", text: view.submit.text }) : null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = {};
    for (const input of form.querySelectorAll("[data-testid=modal-input]")) {
      const value = input.dataset.kind === "external_select"
        ? { type: "external_select", value: input.value, text: input.dataset.text || "" }
        : input.value;
      values[input.dataset.blockId] = { [input.dataset.actionId]: value };
    }
    for (const slot of form.querySelectorAll("[data-testid=modal-error]")) slot.textContent = "";
    form.querySelector("[data-testid=modal-form-error]").textContent = "";
    const submit = form.querySelector("[data-testid=modal-submit]");
    if (submit) submit.disabled = true;
    const answer = await api("POST", "/web/submit", { user: S.me, view_id: view.id, values });
    if (submit) submit.disabled = false;
    const errors = answer.data.errors;
    if (errors && Object.keys(errors).length) {
      for (const [blockId, message] of Object.entries(errors)) {
        const slot = form.querySelector(`[data-testid=modal-error][data-block-id="${CSS.escape(blockId)}"]`);
        if (slot) slot.textContent = message;
        else form.querySelector("[data-testid=modal-form-error]").textContent = message;
      }
      return;
    }
    if (!answer.data.ok && answer.status !== 200) {
      form.querySelector("[data-testid=modal-form-error]").textContent = JSON.stringify(answer.data);
      return;
    }
    overlay.hidden = true;
    overlay.replaceChildren();
    S.openView = null;
    refresh();
  });
  overlay.replaceChildren(form);
  overlay.hidden = false;
  const first = form.querySelector("[data-testid=modal-input]");
  if (first) first.focus();
}

async function closeModal(viewId) {
  const overlay = document.getElementById("overlay");
  overlay.hidden = true;
  overlay.replaceChildren();
  await api("POST", "/web/close", { user: S.me, view_id: viewId });
  S.openView = null;
  refresh();
}

// -- the workspace ------------------------------------------------------------------------------

// -- threads: a reply (thread_ts names another message) shows in its thread, not in the channel --

function isReply(message) {
  return !!message.thread_ts && message.thread_ts !== message.ts && !message.reply_broadcast;
}

function threadOf(channel, ts) {
  return (S.state.messages[channel] || []).filter((m) => m.message.ts === ts || m.message.thread_ts === ts);
}

function openThread(channel, ts) {
  S.thread = { channel, ts };
  render();
}

function closeThread() {
  S.thread = null;
  render();
}

function renderThread() {
  const pane = document.getElementById("thread");
  const items = S.thread ? threadOf(S.thread.channel, S.thread.ts) : [];
  document.querySelector(".app").classList.toggle("with-thread", items.length > 0);
  pane.hidden = items.length === 0;
  if (!items.length) { S.thread = null; pane.replaceChildren(); return; }
  const where = channelName(S.thread.channel);
  const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
  pane.replaceChildren(
    el("div", { class: "thread-title" },
      el("span", { text: "Thread in " + (where === "natlink" ? "@" : "#") + where }),
      el("button", { type: "button", class: "btn", "data-testid": "thread-close", text: "Close", onclick: closeThread })),
    el("div", { class: "thread-messages", "data-testid": "thread-messages" },
      items.map((m) => renderMessage(m, S.thread.channel, true))));
  if (atBottom) pane.scrollTop = pane.scrollHeight;
}

function renderMessage(item, channel, inThread) {
  const message = item.message;
  const author = message.user ? userName(message.user) : (message.username || "natlink");
  const isBot = !!message.bot_id;
  const meta = el("div", { class: "meta" },
    el("span", { class: "author", "data-testid": "message-author", text: author + (isBot ? " (app)" : "") }),
    el("span", { class: "time", text: new Date(parseFloat(message.ts) * 1000).toLocaleTimeString() }),
    item.ephemeral ? el("span", { class: "only-you", "data-testid": "ephemeral-note", text: "Only visible to you" }) : null,
    message.edited ? el("span", { class: "edited", "data-testid": "edited-note", text: "(edited)" }) : null,
    item.ephemeral ? null : el("button", {
      type: "button", class: "more-actions", "data-testid": "more-actions", title: "More actions", text: "\u22ee",
      onclick: (event) => shortcutMenu("message", event.currentTarget, (s) =>
        runShortcut("/web/message-shortcut", { channel, ts: message.ts, callback_id: s.callback_id })),
    }));
  const body = el("div", { class: "body" });
  if (message.blocks && message.blocks.length) {
    body.append(...renderBlocks(message.blocks, { channel, message, fallback: message.text }));
  } else {
    body.append(renderMrkdwn(message.text || "", el("div", { class: "mrkdwn" })));
  }
  for (const file of message.files || []) body.append(renderFile(file));
  // Slack shows "N replies" under a parent; a click opens the thread beside the channel
  const replies = inThread ? 0 : message.reply_count || 0;
  const link = replies ? el("button", {
    type: "button", class: "thread-link", "data-testid": "thread-link", "data-ts": message.ts,
    text: replies + (replies === 1 ? " reply" : " replies"), onclick: () => openThread(channel, message.ts),
  }) : null;
  return el("div", {
    class: "message" + (item.ephemeral ? " ephemeral" : ""),
    "data-testid": "message", "data-ts": message.ts, "data-user": message.user,
    "data-ephemeral": item.ephemeral ? "true" : "false", "data-edits": item.edits,
    "data-thread-ts": message.thread_ts,
  }, meta, body, link);
}

// An uploaded file (files.completeUploadExternal): its name, a download link, and a CSV's first rows.
function renderFile(file) {
  const box = el("div", { class: "file", "data-testid": "file", "data-file": file.id },
    el("div", { class: "file-name", "data-testid": "file-name", text: "\u{1F4CE} " + file.name }));
  fetch(`/web/file?id=${encodeURIComponent(file.id)}`).then((r) => r.json()).then((found) => {
    if (!found.ok) return;
    const url = URL.createObjectURL(new Blob([found.content], { type: "text/csv" }));
    box.append(el("a", { href: url, download: found.name, "data-testid": "file-download", text: "Download" }));
    const rows = found.content.split("\n").filter((line) => line).slice(0, 6).map(csvRow);
    box.append(el("table", { class: "file-table", "data-testid": "file-table" },
      ...rows.map((cells) => el("tr", {}, ...cells.map((cell) => el("td", { text: cell }))))));
  });
  return box;
}

function csvRow(line) {
  const cells = [];
  let cell = "", quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') { cell += '"'; i++; }
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) { cells.push(cell); cell = ""; }
    else if (c !== "\r") cell += c;
  }
  return [...cells, cell];
}

function render() {
  const state = S.state;
  if (!state) return;
  const me = state.me;
  document.getElementById("me").textContent =
    `${me.name} — ${me.role ? me.role + (me.team ? " on team " + me.team : "") : "no rights"}`;
  const channelList = document.getElementById("channels");
  const dmList = document.getElementById("dms");
  const item = (c) => el("li", {
    class: c.id === S.channel ? "active" : "", "data-testid": "channel-item",
    "data-channel-id": c.id, "data-channel-name": c.name, text: (c.is_im ? "@" : "# ") + c.name,
    onclick: () => { S.channel = c.id; S.home = false; render(); },
  });
  channelList.replaceChildren(...state.channels.filter((c) => !c.is_im).map(item));
  dmList.replaceChildren(...state.channels.filter((c) => c.is_im).map(item));
  document.getElementById("app-home").className = S.home ? "active" : "";
  document.getElementById("composer").hidden = S.home;
  if (S.home) { S.shownChannel = null; renderHome(state.home); showModal(state.view); return; }
  const current = state.channels.find((c) => c.id === S.channel);
  document.getElementById("channel-header").textContent = current ? (current.is_im ? "@" : "#") + current.name : "";
  const list = document.getElementById("messages");
  // A channel opens at its newest message, and stays there as messages arrive, unless the person
  // scrolled up to read.
  const opened = S.shownChannel !== S.channel;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const top = (state.messages[S.channel] || []).filter((m) => !isReply(m.message));
  list.replaceChildren(...top.map((m) => renderMessage(m, S.channel)));
  if (opened || atBottom) list.scrollTop = list.scrollHeight;
  S.shownChannel = S.channel;
  renderThread();
  showModal(state.view);
}

// natlink's Home tab: opening it sends app_home_opened (signed, through the stand-in); the view the
// bot publishes arrives with the next state, drawn by the same block renderer as messages.
function renderHome(view) {
  document.getElementById("channel-header").textContent = "natlink — Home";
  const body = el("div", { class: "home", "data-testid": "home-view", "data-view-id": view ? view.id : "" });
  if (view) body.append(...renderBlocks(view.blocks || [], { home: true }));
  else body.append(el("div", { class: "block-context", "data-testid": "home-empty", text: "natlink has not published a Home tab yet." }));
  document.getElementById("messages").replaceChildren(body);
}

async function openHome() {
  S.home = true;
  render();
  const answer = await api("POST", "/web/home", { user: S.me });
  notice(answer.data.ok ? "" : "Home not opened: " + (answer.data.error || answer.status));
  refresh();
}

let refreshing = null;
async function refresh() {
  if (!S.me) return;
  if (refreshing) { refreshing.again = true; return; }
  refreshing = { again: false };
  try {
    const answer = await api("GET", "/web/state?user=" + encodeURIComponent(S.me));
    if (answer.status === 200) {
      S.state = answer.data;
      S.users = answer.data.users;
      S.version = answer.data.version;
      if (!S.state.channels.some((c) => c.id === S.channel)) S.channel = S.state.channels[0] && S.state.channels[0].id;
      render();
    }
  } finally {
    const again = refreshing.again;
    refreshing = null;
    if (again) refresh();
  }
}

function defaultChannel(name) {
  const team = S.workspace.users[name] && S.workspace.users[name].team;
  if (team === "B") return S.workspace.channels["team-b"];
  return S.workspace.channels["team-a"];
}

function selectUser(name) {
  S.me = S.workspace.users[name].id;
  S.meName = name;
  S.channel = defaultChannel(name);
  S.thread = null;
  S.openView = null;
  document.getElementById("overlay").hidden = true;
  document.getElementById("overlay").replaceChildren();
  const url = new URL(window.location.href);
  url.searchParams.set("user", name);
  window.history.replaceState(null, "", url);
  if (S.home) openHome(); else refresh();  // the Home tab follows the person: theirs opens
}

async function send(text) {
  if (!text.trim()) return;
  const path = text.trim().startsWith("/") ? "/web/command" : "/web/message";
  const answer = await api("POST", path, { user: S.me, channel: S.channel, text });
  if (!answer.data.ok) notice("Not sent: " + (answer.data.error || "") + " " + JSON.stringify(answer.data.detail || ""));
  else notice("");
  refresh();
}

// -- live updates: server-sent events, polling when they fail -----------------------------------

function startPolling() {
  if (S.polling) return;
  document.getElementById("status").textContent = "live: polling";
  S.polling = setInterval(async () => {
    const answer = await api("GET", "/web/version");
    if (answer.data.version !== S.version) { refresh(); refreshAzure(); }
  }, 1500);
}

function startEvents() {
  if (!window.EventSource) { startPolling(); return; }
  const source = new EventSource("/web/events");
  source.addEventListener("version", (event) => {
    document.getElementById("status").textContent = "live: events";
    const version = JSON.parse(event.data).version;
    if (version !== S.version) { refresh(); refreshAzureSoon(); }
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) startPolling();
  });
}

// -- Azure ------------------------------------------------------------------------------------

let azureTimer = null;
function refreshAzureSoon() {
  clearTimeout(azureTimer);
  azureTimer = setTimeout(refreshAzure, 300);
}

let azureAsked = 0;
async function refreshAzure() {
  // Refreshes overlap (a portal action, a live event); only the latest one may paint, so a slower
  // earlier answer can never put back a world from before the change.
  const asked = ++azureAsked;
  const answer = await api("GET", "/web/azure");
  if (asked !== azureAsked) return;
  const body = document.getElementById("azure-body");
  if (answer.status !== 200) {
    body.replaceChildren(el("div", { "data-testid": "azure-error", text: "Azure unavailable: " + (answer.data.error || answer.status) }));
    return;
  }
  S.azure = answer.data;
  renderAzure();
}

async function portal(path, spec) {
  const answer = await api("POST", path, spec);
  const out = document.getElementById("portal-result");
  if (out) out.textContent = answer.data.ok ? "done: " + path.split("/").pop() : "refused: " + JSON.stringify(answer.data.detail || answer.data.error);
  refreshAzure();
  return answer;
}

function renderAzure() {
  const w = S.azure;
  const body = document.getElementById("azure-body");
  const section = (title, testid, rows) => el("div", { "data-testid": testid }, el("h3", { text: title }), rows.length ? rows : el("div", { class: "row", text: "none" }));
  const links = section("What each side sees", "mapping-list", w.links.map((link) => el("div", {
    class: "mapping", "data-testid": "mapping-row", "data-service": link.service, "data-endpoint": link.endpoint, "data-status": link.status,
  },
  el("div", {}, el("b", { text: link.service }), " via ", el("span", { text: link.endpoint }), " ", el("span", { class: "status-" + link.status, text: link.status })),
  el("div", { "data-testid": "mapping-a", text: `${link.consumer} (A) sees: destination ${link.destination}` }),
  el("div", { "data-testid": "mapping-b", text: `${link.provider} (B) sees: source ${link.natIps.join(", ") || "?"} → ${link.backends.join(", ") || "?"}` }),
  // natlink proves the link with Network Watcher, as the person on the page would type it
  link.status === "Approved" && link.request
    ? el("button", { type: "button", "data-testid": "verify-link", "data-request": link.request, text: "Verify", onclick: () => send(`/natlink verify ${link.request}`) })
    : null)));
  const vnets = section("VNets", "vnet-list", w.vnets.map((v) => el("div", { class: "row", "data-testid": "vnet-row" },
    el("b", { text: v.name }), ` ${v.team} ${v.prefixes.join(", ")} — subnets: ${v.subnets.map((s) => s.name + " " + s.prefix).join(", ")}`)));
  const vms = section("VMs", "vm-list", w.vms.map((vm) => el("div", { class: "row", "data-testid": "vm-row", "data-vm-name": vm.name, "data-power": vm.power },
    el("b", { text: vm.name }), ` ${vm.team} ${vm.ips.join(", ")} `,
    el("span", { class: "power-" + vm.power, "data-testid": "vm-power", text: vm.power }),
    el("button", { type: "button", "data-testid": "portal-power-off", "data-vm": vm.name, text: "Power off", onclick: () => portal("/web/portal/power", { vm: vm.id, state: "stopped" }) }),
    el("button", { type: "button", "data-testid": "portal-power-on", "data-vm": vm.name, text: "Start", onclick: () => portal("/web/portal/power", { vm: vm.id, state: "running" }) }))));
  const lbs = section("Load balancers", "lb-list", w.lbs.map((lb) => el("div", { class: "row", "data-testid": "lb-row", "data-lb-name": lb.name },
    el("b", { text: lb.name }), ` ${lb.team} ${lb.sku} frontend ${lb.frontends.map((f) => f.ip).join(", ")}; rules ${lb.rules.map((r) => `${r.frontendPort}→${r.backendPort}`).join(", ")}; backends ${lb.backends.map((b) => `${b.vm} ${b.ip}`).join(", ")}`)));
  const services = section("Private link services", "pls-list", w.services.map((pls) => el("div", { class: "row", "data-testid": "pls-row", "data-pls-name": pls.name },
    el("b", { text: pls.name }), ` ${pls.team} → ${pls.lb}; NAT ${pls.natIps.join(", ")}`,
    el("div", { class: "mono", "data-testid": "pls-alias", text: pls.alias }),
    ...pls.connections.map((c) => el("div", { class: "row", "data-testid": "connection-row", "data-connection": c.name, "data-status": c.status },
      `${c.endpoint.split("/").pop()} `, el("span", { class: "status-" + c.status, text: c.status }),
      c.status !== "Rejected" ? el("button", { type: "button", "data-testid": "portal-reject", "data-connection": c.name, text: "Reject (portal)", onclick: () => portal("/web/portal/reject", { connection: c.id }) }) : null)))));
  const pes = section("Private endpoints", "pe-list", w.endpoints.map((pe) => el("div", { class: "row", "data-testid": "pe-row", "data-pe-name": pe.name, "data-status": pe.status },
    el("b", { text: pe.name }), ` ${pe.team} ${pe.ips.join(", ")} in ${pe.subnet} → ${pe.service || pe.target} `,
    el("span", { class: "status-" + pe.status, text: pe.status }))));
  // The panel is rebuilt on every refresh; what the person typed lives in S.portal so a refresh
  // between typing and clicking keeps it.
  const aliasSelect = el("select", { "data-testid": "portal-alias" }, w.services.map((p) => el("option", { value: p.alias, text: p.name + " — " + p.alias })));
  if (w.services.some((p) => p.alias === S.portal.alias)) aliasSelect.value = S.portal.alias;
  aliasSelect.addEventListener("change", () => { S.portal.alias = aliasSelect.value; });
  const nameInput = el("input", { type: "text", "data-testid": "portal-pe-name", placeholder: "endpoint name (optional)" });
  nameInput.value = S.portal.name;
  nameInput.addEventListener("input", () => { S.portal.name = nameInput.value; });
  const create = el("form", { "data-testid": "portal-create-form" },
    el("h3", { text: "Portal: create a PE in Team A by alias" }), aliasSelect, nameInput,
    el("button", { type: "submit", "data-testid": "portal-create-pe", text: "Create private endpoint", disabled: !w.services.length }));
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const spec = { alias: S.portal.alias || aliasSelect.value, name: S.portal.name || undefined };
    const answer = await portal("/web/portal/endpoint", spec);
    if (answer.data.ok) S.portal.name = "";
  });
  body.replaceChildren(links, vnets, vms, lbs, services, pes, create, el("div", { id: "portal-result", "data-testid": "portal-result" }));
}

// -- start ------------------------------------------------------------------------------------

async function start() {
  const answer = await api("GET", "/web/config");
  S.workspace = answer.data.workspace;
  const switcher = document.getElementById("user-switcher");
  for (const [name, info] of Object.entries(S.workspace.users)) {
    const role = info.role ? `${info.role}${info.team ? " on team " + info.team : ""}` : "no rights";
    switcher.append(el("option", { value: name, "data-user-id": info.id, text: `${name} (${role})` }));
  }
  const wanted = new URL(window.location.href).searchParams.get("user");
  const name = S.workspace.users[wanted] ? wanted : "alice";
  switcher.value = name;
  switcher.addEventListener("change", () => selectUser(switcher.value));
  document.getElementById("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("composer-input");
    const text = input.value;
    input.value = "";
    send(text);
  });
  document.getElementById("azure-refresh").addEventListener("click", refreshAzure);
  document.getElementById("app-home").addEventListener("click", openHome);
  document.getElementById("shortcuts-button").addEventListener("click", (event) =>
    shortcutMenu("global", event.currentTarget, (s) => runShortcut("/web/shortcut", { callback_id: s.callback_id })));
  selectUser(name);
  startEvents();
  setInterval(() => { refresh(); }, 5000);
  setInterval(refreshAzure, 4000);
  refreshAzure();
}

start();
