// The sandbox page: a small Slack workspace drawn from /api/state, redrawn on every server-sent "change".
import { renderBlocks } from './blocks.js';
import { escapeHtml, mrkdwn, plainText } from './mrkdwn.js';

const params = new URLSearchParams(location.search);
const ui = {
  me: params.get('as') ?? 'U0ALICE',
  /** A channel id, 'dm' or 'home'. */
  open: params.get('open') ?? 'C0INCIDENTS',
  state: null,
  lastMain: '',
  lastSide: '',
  modalKey: '',
  modalErrors: {},
  mainElements: [],
  modalElements: [],
  pendingConfirm: null,
};

const $ = (selector) => document.querySelector(selector);

function people() {
  const map = new Map((ui.state?.people ?? []).map((person) => [person.id, person]));
  map.set('UBOT', { name: 'Breakglass' });
  return map;
}

function timeOf(at) {
  const date = new Date(at);
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}:${String(date.getSeconds()).padStart(2, '0')}`;
}

async function api(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ as: ui.me, ...body }) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) showToast(answer.error ?? `HTTP ${response.status}`);
  return answer;
}

function showToast(text) {
  const toast = $('#toast');
  toast.textContent = text;
  toast.hidden = false;
  setTimeout(() => {
    toast.hidden = true;
  }, 5000);
}

async function refresh() {
  const response = await fetch(`/api/state?as=${encodeURIComponent(ui.me)}`);
  if (!response.ok) return;
  ui.state = await response.json();
  render();
}

let refreshQueued = false;
function queueRefresh() {
  if (refreshQueued) return;
  refreshQueued = true;
  setTimeout(() => {
    refreshQueued = false;
    void refresh();
  }, 50);
}

function messageHtml(message, surface, names) {
  const author = names.get(message.user)?.name ?? message.user;
  const isBot = message.user === 'UBOT';
  const body = message.blocks?.length ? renderBlocks(message.blocks, { people: names, elements: ui.mainElements }) : `<div class="bk-text">${mrkdwn(message.text, names)}</div>`;
  const edited = message.edited ? ' <span class="muted">(edited)</span>' : '';
  return `<div class="message" data-surface='${escapeHtml(JSON.stringify(surface))}' data-ts="${escapeHtml(message.ts)}">
    <div class="avatar${isBot ? ' bot' : ''}">${escapeHtml(author.slice(0, 1))}</div>
    <div class="message-body"><div class="message-head"><b>${escapeHtml(author)}</b>${isBot ? ' <span class="app-badge">APP</span>' : ''} <span class="muted">${timeOf(message.at)}</span>${edited}</div>${body}</div>
  </div>`;
}

function ephemeralHtml(message, names) {
  const body = message.blocks?.length ? renderBlocks(message.blocks, { people: names, elements: ui.mainElements }) : `<div class="bk-text">${mrkdwn(message.text, names)}</div>`;
  return `<div class="message ephemeral" data-surface='${escapeHtml(JSON.stringify({ kind: 'ephemeral', id: message.id }))}'>
    <div class="avatar bot">B</div>
    <div class="message-body"><div class="message-head"><b>Breakglass</b> <span class="app-badge">APP</span> <span class="muted">${timeOf(message.at)} · Only visible to you</span>
    <button type="button" class="link dismiss" data-dismiss="${escapeHtml(message.id)}">Dismiss</button></div>${body}</div>
  </div>`;
}

function conversationHtml(channelId, messages) {
  const names = people();
  const items = messages.map((message) => ({ at: message.at, html: threadHtml(channelId, message, names) }));
  for (const message of ui.state.ephemerals.filter((e) => e.channel === channelId)) items.push({ at: message.at, html: ephemeralHtml(message, names) });
  items.sort((a, b) => a.at - b.at);
  return items.map((item) => item.html).join('') || '<p class="muted empty">No messages yet. Try <code>/breakglass help</code> below.</p>';
}

function threadHtml(channelId, message, names) {
  const top = messageHtml(message, { kind: 'message', channel: channelId, ts: message.ts }, names);
  if (!message.replies.length) return top;
  const replies = message.replies.map((reply) => messageHtml(reply, { kind: 'message', channel: channelId, ts: reply.ts }, names)).join('');
  return `${top}<div class="thread"><div class="thread-label">${message.replies.length} ${message.replies.length === 1 ? 'reply' : 'replies'}</div>${replies}</div>`;
}

function mainHtml() {
  const { state } = ui;
  ui.mainElements = [];
  if (ui.open === 'home') {
    const home = state.home;
    const body = home ? renderBlocks(home.view.blocks, { people: people(), elements: ui.mainElements }) : '<p class="muted">Opening the Home tab…</p>';
    return `<header class="main-head"><h2>Breakglass</h2><span class="muted">App Home</span></header>
      <div class="scroll home" data-surface='${escapeHtml(JSON.stringify({ kind: 'view', viewId: home?.id ?? '' }))}'>${body}</div>`;
  }
  if (ui.open === 'dm') {
    return `<header class="main-head"><h2>Breakglass</h2><span class="muted">Direct messages with the app</span></header>
      <div class="scroll" id="messages">${conversationHtml(state.dm.id, state.dm.messages)}</div>`;
  }
  const channel = state.channels.find((c) => c.id === ui.open) ?? state.channels[0];
  return `<header class="main-head"><h2>#${escapeHtml(channel.name)}</h2><span class="muted">${escapeHtml(channel.topic)}</span></header>
    <div class="scroll" id="messages">${conversationHtml(channel.id, channel.messages)}</div>`;
}

function sideHtml() {
  const { state } = ui;
  const link = (id, label) => `<button type="button" class="nav${ui.open === id ? ' active' : ''}" data-open="${escapeHtml(id)}">${label}</button>`;
  const channels = state.channels.map((channel) => link(channel.id, `# ${escapeHtml(channel.name)}`)).join('');
  return `<div class="nav-group"><div class="nav-title">Channels</div>${channels}</div>
    <div class="nav-group"><div class="nav-title">Direct messages</div>${link('dm', 'Breakglass <span class="app-badge">APP</span>')}</div>
    <div class="nav-group"><div class="nav-title">Apps</div>${link('home', 'Breakglass — Home')}</div>`;
}

function targetsHtml(targets) {
  if (!targets || targets.error) return `<p class="error-text">${escapeHtml(targets?.error ?? 'no answer')}</p>`;
  const roles = targets.postgres.roles
    .map(
      (role) =>
        `<li><code>${escapeHtml(role.role)}</code>: ${role.members.length ? role.members.map((m) => `<b class="granted">${escapeHtml(m)}</b>`).join(', ') : '<span class="muted">nobody</span>'}</li>`,
    )
    .join('');
  const access = targets.webhook.access.length
    ? targets.webhook.access
        .map(
          (a) =>
            `<li><b class="granted">${escapeHtml(a.login)}</b> ${escapeHtml(a.resource)}/${escapeHtml(a.role)}${a.expiresAt ? ` until ${timeOf(Date.parse(a.expiresAt))}` : ''}</li>`,
        )
        .join('')
    : '<li class="muted">nobody</li>';
  const calls = targets.webhook.calls
    .map((c) => `<li class="muted">${timeOf(c.at)} ${escapeHtml(c.action)} ${escapeHtml(c.login)} → ${c.status} ${escapeHtml(c.result)}</li>`)
    .join('');
  return `<h4>PostgreSQL <span class="muted">demo-db</span></h4><ul id="target-postgres">${roles}</ul>
    <h4>Webhook <span class="muted">deploy-console</span></h4><ul id="target-webhook">${access}</ul>${calls ? `<ul class="calls">${calls}</ul>` : ''}`;
}

function errorsHtml(errors) {
  if (!errors.length) return '<p class="muted">None: every call the bot made was one Slack would take.</p>';
  return `<ul>${[...errors]
    .reverse()
    .map(
      (e) =>
        `<li><span class="muted">${timeOf(e.at)}</span> <code>${escapeHtml(e.where)}</code>: <b>${escapeHtml(e.error)}</b>${e.detail ? `<div class="muted detail">${escapeHtml(e.detail)}</div>` : ''}</li>`,
    )
    .join('')}</ul>`;
}

function render() {
  const { state } = ui;
  // Whose view this is, for whoever drives the page (the browser test waits for it after switching).
  document.body.dataset.me = state.me;
  const side = sideHtml();
  if (side !== ui.lastSide) {
    $('#sidebar').innerHTML = side;
    ui.lastSide = side;
  }
  const main = mainHtml();
  if (main !== ui.lastMain) {
    const scroller = $('#messages');
    const atBottom = !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    const previousTop = scroller?.scrollTop ?? 0;
    $('#main').innerHTML = main;
    ui.lastMain = main;
    const next = $('#messages');
    if (next) next.scrollTop = atBottom ? next.scrollHeight : previousTop;
  }
  $('#composer').hidden = ui.open === 'home';
  $('#targets').innerHTML = targetsHtml(state.targets);
  $('#errors').innerHTML = errorsHtml(state.errors);
  $('#error-count').textContent = state.errors.length ? String(state.errors.length) : '';
  renderModal();
}

/** The values of the modal's inputs, as view.state.values. */
function modalValues() {
  const values = {};
  for (const control of document.querySelectorAll('#modal [data-kind]')) {
    const block = control.dataset.block;
    const action = control.dataset.action;
    values[block] ??= {};
    if (control.dataset.kind === 'plain_text_input') values[block][action] = { type: 'plain_text_input', value: control.value === '' ? null : control.value };
    else {
      const option = control.selectedOptions[0];
      values[block][action] = {
        type: 'static_select',
        selected_option: control.value ? { text: { type: 'plain_text', text: option.textContent, emoji: true }, value: control.value } : null,
      };
    }
  }
  return values;
}

function renderModal() {
  const modal = ui.state.modal;
  const overlay = $('#modal-overlay');
  if (!modal) {
    overlay.hidden = true;
    ui.modalKey = '';
    ui.modalErrors = {};
    return;
  }
  const key = `${modal.id}:${modal.hash}:${JSON.stringify(ui.modalErrors)}`;
  overlay.hidden = false;
  if (key === ui.modalKey) return;
  const kept = ui.modalKey ? modalValues() : {};
  ui.modalKey = key;
  ui.modalElements = [];
  const view = modal.view;
  const body = renderBlocks(view.blocks, { people: people(), elements: ui.modalElements, state: kept, errors: ui.modalErrors });
  $('#modal').innerHTML = `<header class="modal-head"><h3>${plainText(view.title)}</h3><button type="button" class="link" data-modal="close" aria-label="Close">✕</button></header>
    <div class="modal-body" data-surface='${escapeHtml(JSON.stringify({ kind: 'view', viewId: modal.id }))}'>${body}</div>
    <footer class="modal-foot"><button type="button" class="bk-button" data-modal="close">${plainText(view.close ?? { text: 'Cancel' })}</button>${
      view.submit ? `<button type="button" class="bk-button primary" data-modal="submit">${plainText(view.submit)}</button>` : ''
    }</footer>`;
}

function elementFor(node) {
  const inModal = Boolean(node.closest('#modal'));
  const element = (inModal ? ui.modalElements : ui.mainElements)[Number(node.dataset.el)];
  const surface = JSON.parse(node.closest('[data-surface]').dataset.surface);
  return { element, surface, inModal };
}

async function sendButton(node) {
  const { element, surface, inModal } = elementFor(node);
  if (element.url) window.open(element.url, '_blank', 'noopener');
  const send = () =>
    api('/api/click', {
      target: surface,
      element: { type: 'button', actionId: element.action_id, blockId: element.block_id, value: element.value, text: element.text?.text },
      values: inModal ? modalValues() : {},
    });
  if (!element.confirm) return send();
  showConfirm(element.confirm, send);
}

function showConfirm(confirm, onConfirm) {
  const names = people();
  const dialog = $('#confirm');
  dialog.querySelector('h3').innerHTML = plainText(confirm.title ?? { text: 'Are you sure?' });
  dialog.querySelector('.confirm-text').innerHTML = confirm.text?.type === 'mrkdwn' ? mrkdwn(confirm.text.text, names) : plainText(confirm.text);
  const yes = dialog.querySelector('[data-confirm="yes"]');
  yes.innerHTML = plainText(confirm.confirm ?? { text: 'Yes' });
  yes.className = `bk-button ${confirm.style === 'danger' ? 'danger' : 'primary'}`;
  dialog.querySelector('[data-confirm="no"]').innerHTML = plainText(confirm.deny ?? { text: 'Cancel' });
  ui.pendingConfirm = onConfirm;
  $('#confirm-overlay').hidden = false;
}

async function sendSelect(node) {
  const { element, surface, inModal } = elementFor(node);
  const option = node.selectedOptions[0];
  await api('/api/click', {
    target: surface,
    element: {
      type: 'static_select',
      actionId: element.action_id,
      blockId: element.block_id,
      selectedOption: { text: { type: 'plain_text', text: option.textContent }, value: node.value },
    },
    values: inModal ? modalValues() : {},
  });
}

async function submitModal() {
  const modal = ui.state.modal;
  if (!modal) return;
  const answer = await api('/api/submit', { viewId: modal.id, values: modalValues() });
  ui.modalErrors = answer.errors ?? {};
  await refresh();
}

function open(target) {
  ui.open = target;
  const url = new URL(location.href);
  url.searchParams.set('open', target);
  url.searchParams.set('as', ui.me);
  history.replaceState(null, '', url);
  if (target === 'home') void api('/api/home', {});
  render();
}

document.addEventListener('click', (event) => {
  const node = event.target.closest('[data-el], [data-open], [data-dismiss], [data-modal], [data-confirm]');
  if (!node) return;
  if (node.dataset.open) open(node.dataset.open);
  else if (node.dataset.dismiss) void api('/api/dismiss', { id: node.dataset.dismiss });
  else if (node.dataset.modal === 'close') void api('/api/close', {}).then(refresh);
  else if (node.dataset.modal === 'submit') void submitModal();
  else if (node.dataset.confirm) {
    $('#confirm-overlay').hidden = true;
    const send = ui.pendingConfirm;
    ui.pendingConfirm = null;
    if (node.dataset.confirm === 'yes' && send) void send();
  } else if (node.tagName === 'BUTTON') void sendButton(node);
});

document.addEventListener('change', (event) => {
  const node = event.target;
  if (node.matches?.('select[data-dispatch]')) void sendSelect(node);
});

$('#composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const box = $('#message-box');
  const text = box.value;
  if (!text.trim()) return;
  box.value = '';
  const channel = ui.open === 'dm' ? ui.state.dm.id : ui.open;
  await api('/api/type', { channel, text });
});

$('#message-box').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('#composer').requestSubmit();
  }
});

$('#who').addEventListener('change', (event) => {
  ui.me = event.target.value;
  ui.lastMain = '';
  ui.modalKey = '';
  ui.modalErrors = {};
  delete document.body.dataset.me;
  open(ui.open);
  void refresh();
});

async function start() {
  await refresh();
  $('#who').innerHTML = ui.state.people
    .map((person) => `<option value="${escapeHtml(person.id)}"${person.id === ui.me ? ' selected' : ''}>${escapeHtml(person.name)} — ${escapeHtml(person.part)}</option>`)
    .join('');
  if (ui.open === 'home') void api('/api/home', {});
  const events = new EventSource('/api/events');
  events.addEventListener('change', queueRefresh);
  // The targets change without Slack calls (a grant lands before its message): look again now and then.
  setInterval(queueRefresh, 2000);
}

void start();
