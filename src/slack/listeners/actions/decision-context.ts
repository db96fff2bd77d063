import type { BlockAction, ButtonAction } from '@slack/bolt';

/** The request id (the button's value: ids only, state is re-read) and where to answer the clicker. */
export function clickedRequest(body: BlockAction, action: ButtonAction): { requestId: string; userId: string; channelId: string | undefined } {
  return { requestId: action.value ?? '', userId: body.user.id, channelId: body.channel?.id ?? body.container?.channel_id };
}
