// Block Kit as HTML: sections (text, fields, accessories), headers, dividers, context, actions (buttons with confirm
// dialogs, static selects), inputs (text and selects), images. Interactive elements are registered in ctx.elements
// and marked data-el="<index>"; app.js sends what is clicked or chosen. Unknown blocks show as such, never vanish.
import { escapeHtml, plainText, textObject } from './mrkdwn.js';

function register(ctx, element, blockId) {
  ctx.elements.push({ ...element, block_id: element.block_id ?? blockId });
  return ctx.elements.length - 1;
}

function button(element, blockId, ctx) {
  const index = register(ctx, element, blockId);
  const style = element.style === 'primary' || element.style === 'danger' ? ` ${element.style}` : '';
  const link = element.url ? ` data-url="${escapeHtml(element.url)}"` : '';
  return `<button type="button" class="bk-button${style}" data-el="${index}"${link}>${plainText(element.text)}</button>`;
}

function optionHtml(option, selectedValue) {
  const selected = option.value === selectedValue ? ' selected' : '';
  return `<option value="${escapeHtml(option.value)}"${selected}>${plainText(option.text)}</option>`;
}

function selectOptions(element, selectedValue) {
  const groups = (element.option_groups ?? []).map(
    (group) => `<optgroup label="${escapeHtml(group.label?.text ?? '')}">${group.options.map((o) => optionHtml(o, selectedValue)).join('')}</optgroup>`,
  );
  return (element.options ?? []).map((o) => optionHtml(o, selectedValue)).join('') + groups.join('');
}

/** A static_select: in an input it keeps its choice for the submission; with dispatch (actions, or dispatch_action) a choice is sent at once. */
function select(element, blockId, ctx, { dispatch, state }) {
  const index = register(ctx, element, blockId);
  const chosen = state?.selected_option?.value ?? element.initial_option?.value ?? '';
  const placeholder = `<option value=""${chosen ? '' : ' selected'} disabled>${plainText(element.placeholder ?? { text: 'Choose…' })}</option>`;
  return `<select class="bk-select" data-el="${index}" data-kind="static_select" data-block="${escapeHtml(blockId)}" data-action="${escapeHtml(element.action_id ?? '')}"${dispatch ? ' data-dispatch="1"' : ''}>${placeholder}${selectOptions(element, chosen)}</select>`;
}

function textInput(element, blockId, ctx, state) {
  const index = register(ctx, element, blockId);
  const value = escapeHtml(state?.value ?? element.initial_value ?? '');
  const common = `class="bk-input" data-el="${index}" data-kind="plain_text_input" data-block="${escapeHtml(blockId)}" data-action="${escapeHtml(element.action_id ?? '')}" placeholder="${escapeHtml(element.placeholder?.text ?? '')}"${element.max_length ? ` maxlength="${element.max_length}"` : ''}`;
  return element.multiline ? `<textarea ${common} rows="3">${value}</textarea>` : `<input type="text" ${common} value="${value}">`;
}

function element(elementObject, blockId, ctx, options = {}) {
  switch (elementObject.type) {
    case 'button':
      return button(elementObject, blockId, ctx);
    case 'static_select':
      return select(elementObject, blockId, ctx, { dispatch: true, ...options });
    case 'image':
      return `<img class="bk-image-small" src="${escapeHtml(elementObject.image_url)}" alt="${escapeHtml(elementObject.alt_text ?? '')}">`;
    case 'plain_text':
    case 'mrkdwn':
      return `<span>${textObject(elementObject, ctx.people)}</span>`;
    default:
      return `<span class="bk-unsupported">[${escapeHtml(elementObject.type)} element: not shown by the sandbox]</span>`;
  }
}

function section(block, ctx) {
  const text = block.text ? `<div class="bk-text">${textObject(block.text, ctx.people)}</div>` : '';
  const fields = block.fields ? `<div class="bk-fields">${block.fields.map((field) => `<div>${textObject(field, ctx.people)}</div>`).join('')}</div>` : '';
  const accessory = block.accessory ? `<div class="bk-accessory">${element(block.accessory, block.block_id, ctx)}</div>` : '';
  return `<div class="bk-section"><div class="bk-main">${text}${fields}</div>${accessory}</div>`;
}

function input(block, ctx) {
  const state = ctx.state?.[block.block_id]?.[block.element?.action_id];
  let control;
  if (block.element?.type === 'plain_text_input') control = textInput(block.element, block.block_id, ctx, state);
  else if (block.element?.type === 'static_select') control = select(block.element, block.block_id, ctx, { dispatch: Boolean(block.dispatch_action), state });
  else control = element(block.element ?? { type: 'missing' }, block.block_id, ctx);
  const optional = block.optional ? ' <span class="bk-optional">(optional)</span>' : '';
  const hint = block.hint ? `<div class="bk-hint">${plainText(block.hint)}</div>` : '';
  const error = ctx.errors?.[block.block_id] ? `<div class="bk-error">${escapeHtml(ctx.errors[block.block_id])}</div>` : '';
  return `<label class="bk-input-block" data-block-id="${escapeHtml(block.block_id ?? '')}"><span class="bk-label">${plainText(block.label)}${optional}</span>${control}${hint}${error}</label>`;
}

function richText(block) {
  const walk = (node) => (node.elements ?? []).map((child) => (child.type === 'text' ? escapeHtml(child.text) : walk(child))).join('');
  return `<div class="bk-section">${walk(block)}</div>`;
}

export function renderBlock(block, ctx) {
  switch (block.type) {
    case 'section':
      return section(block, ctx);
    case 'header':
      return `<h3 class="bk-header">${plainText(block.text)}</h3>`;
    case 'divider':
      return '<hr class="bk-divider">';
    case 'context':
      return `<div class="bk-context">${block.elements.map((item) => element(item, block.block_id, ctx)).join('')}</div>`;
    case 'actions':
      return `<div class="bk-actions">${block.elements.map((item) => element(item, block.block_id, ctx)).join('')}</div>`;
    case 'input':
      return input(block, ctx);
    case 'image':
      return `<img class="bk-image" src="${escapeHtml(block.image_url)}" alt="${escapeHtml(block.alt_text ?? '')}">`;
    case 'rich_text':
      return richText(block);
    default:
      return `<div class="bk-unsupported">[${escapeHtml(block.type)} block: not shown by the sandbox]</div>`;
  }
}

/** `blocks` as HTML; `ctx`: { people, elements: [], state?, errors? }. */
export function renderBlocks(blocks, ctx) {
  return (blocks ?? []).map((block) => renderBlock(block, ctx)).join('');
}
