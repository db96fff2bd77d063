// What real Slack refuses in Block Kit (the documented limits the bot's builders could run into): the stand-in
// answers such calls `invalid_blocks`, as Slack does, so a bot bug shows in the tests and on the sandbox page.

/** Methods whose `blocks` (or `view.blocks`) Slack checks, and how many blocks each allows. */
const BLOCK_LIMITS: Record<string, number> = {
  'chat.postMessage': 50,
  'chat.update': 50,
  'chat.postEphemeral': 50,
  response_url: 50,
  'views.open': 100,
  'views.push': 100,
  'views.update': 100,
  'views.publish': 100,
};

/** What real Slack refuses as `invalid_blocks` (the documented limits the bot's builders could run into), or null. */
export function blocksRefusal(method: string, args: Record<string, any>): object | null {
  const limit = BLOCK_LIMITS[method];
  if (limit === undefined) return null;
  if (method.startsWith('views.')) {
    const problem = viewProblem(args.view);
    if (problem) return { ok: false, error: 'invalid_arguments', response_metadata: { messages: [problem] } };
  }
  const blocks = method.startsWith('views.') ? args.view?.blocks : args.blocks;
  if (blocks === undefined) return null;
  const problem = blocksProblem(blocks, limit);
  if (problem) return { ok: false, error: 'invalid_blocks', errors: [problem] };
  // Undocumented, seen on real Slack: a message whose blocks hold more than about 13,200 characters of text.
  if (method.startsWith('chat.') && Array.isArray(blocks) && JSON.stringify(blocks.map(textsOf)).length > MAX_MESSAGE_BLOCKS_TEXT) {
    return { ok: false, error: 'msg_blocks_too_long' };
  }
  return null;
}

/** Slack refused messages from 13,172 characters of block text on (slackapi/bolt-js#2509); counted loosely here. */
const MAX_MESSAGE_BLOCKS_TEXT = 13_100;
const textsOf = (block: any): string =>
  [block?.text?.text ?? '', ...(block?.elements ?? []).map((element: any) => element?.text ?? ''), ...(block?.fields ?? []).map((field: any) => field?.text ?? '')].join('');

/** The limits of a view's own fields (title, buttons, metadata), which Slack answers `invalid_arguments`. */
function viewProblem(view: any): string | null {
  if (!view || typeof view !== 'object') return 'view: must be an object';
  if (view.type === 'modal') {
    for (const field of ['title', 'submit', 'close']) {
      if (view[field] === undefined) {
        if (field === 'title') return 'view.title: required';
        continue;
      }
      const problem = textProblem(view[field], `view.${field}`, 24, true);
      if (problem) return problem;
    }
  }
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000) return 'view.private_metadata: must be less than 3001 characters';
  if (typeof view.callback_id === 'string' && view.callback_id.length > 255) return 'view.callback_id: must be less than 256 characters';
  return null;
}

/** An input block's label and element (the selects' options included). */
function inputProblem(block: any, at: string): string | null {
  const label = textProblem(block.label, `${at}.label`, 2000, true);
  if (label) return label;
  const element = block.element;
  if (!element || typeof element !== 'object') return `${at}.element: required`;
  if (
    !['plain_text_input', 'static_select', 'datepicker', 'timepicker', 'number_input', 'users_select', 'multi_static_select', 'checkboxes', 'radio_buttons'].includes(element.type)
  ) {
    return `${at}.element: type ${element.type} is not allowed in an input`;
  }
  return optionsProblem(element, `${at}.element`);
}

function optionsProblem(element: any, at: string): string | null {
  if (element.type !== 'static_select' && element.type !== 'multi_static_select') return null;
  if (!Array.isArray(element.options) || element.options.length === 0 || element.options.length > 100) return `${at}.options: 1 to 100 options`;
  for (const [i, option] of element.options.entries()) {
    const problem = textProblem(option?.text, `${at}.options[${i}].text`, 75, true);
    if (problem) return problem;
    if (typeof option.value !== 'string' || option.value.length === 0 || option.value.length > 150) return `${at}.options[${i}].value: 1 to 150 characters`;
  }
  return null;
}

function textProblem(object: any, where: string, maxLength: number, plainOnly = false): string | null {
  if (!object || typeof object !== 'object') return `${where}: not a text object`;
  if (object.type !== 'plain_text' && object.type !== 'mrkdwn') return `${where}: text type ${object.type}`;
  if (plainOnly && object.type !== 'plain_text') return `${where}: must be plain_text`;
  if (typeof object.text !== 'string' || object.text.length === 0) return `${where}: must be more than 0 characters`;
  if (object.text.length > maxLength) return `${where}: must be less than ${maxLength + 1} characters`;
  if (object.type === 'mrkdwn' && 'emoji' in object) return `${where}: emoji is only allowed on plain_text`;
  return null;
}

function blocksProblem(blocks: unknown, maxBlocks: number): string | null {
  if (!Array.isArray(blocks)) return 'blocks: not an array';
  if (blocks.length > maxBlocks) return `blocks: more than ${maxBlocks}`;
  for (const [index, block] of blocks.entries()) {
    const at = `blocks[${index}]`;
    switch (block?.type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined) return `${at}: a section needs text or fields`;
        const text = block.text === undefined ? null : textProblem(block.text, `${at}.text`, 3000);
        if (text) return text;
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0 || block.fields.length > 10) return `${at}.fields: 1 to 10 fields`;
          for (const [i, field] of block.fields.entries()) {
            const problem = textProblem(field, `${at}.fields[${i}]`, 2000);
            if (problem) return problem;
          }
        }
        break;
      }
      case 'header': {
        const problem = textProblem(block.text, `${at}.text`, 150, true);
        if (problem) return problem;
        break;
      }
      case 'context': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 10) return `${at}.elements: 1 to 10 elements`;
        for (const [i, element] of block.elements.entries()) {
          if (element?.type !== 'plain_text' && element?.type !== 'mrkdwn') continue; // images
          const problem = textProblem(element, `${at}.elements[${i}]`, 3000);
          if (problem) return problem;
        }
        break;
      }
      case 'actions': {
        if (!Array.isArray(block.elements) || block.elements.length === 0 || block.elements.length > 25) return `${at}.elements: 1 to 25 elements`;
        for (const [i, element] of block.elements.entries()) {
          if (element?.type !== 'button') continue;
          const problem = textProblem(element.text, `${at}.elements[${i}].text`, 75, true);
          if (problem) return problem;
          if (typeof element.value === 'string' && element.value.length > 2000) return `${at}.elements[${i}].value: more than 2000 characters`;
        }
        break;
      }
      case 'input': {
        const problem = inputProblem(block, at);
        if (problem) return problem;
        break;
      }
      case 'divider':
        break;
      default:
        break;
    }
    if (typeof block?.block_id === 'string' && block.block_id.length > 255) return `${at}.block_id: must be less than 256 characters`;
  }
  return null;
}
