import { ErrorCode } from '@slack/web-api';
import { GiveUp } from '../../effects/effect-errors';

/** Slack's answers that no retry can change: the message or its place is wrong. Everything else (rate limits,
 * outages, network errors, even a revoked token an operator will fix) is retried until it goes through. */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'no_text',
  'too_many_attachments',
  'cant_update_message',
  'message_not_found',
  'edit_window_closed',
  'user_not_found',
  'user_not_visible',
  'cannot_dm_bot',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
]);

/** The Slack error code of a platform error (`not_in_channel`…), or null for anything else. */
export function slackErrorCode(err: unknown): string | null {
  const candidate = err as { code?: unknown; data?: { error?: unknown } } | null;
  return candidate?.code === ErrorCode.PlatformError && typeof candidate.data?.error === 'string' ? candidate.data.error : null;
}

export function isPermanentSlackError(err: unknown): boolean {
  const code = slackErrorCode(err);
  return code !== null && PERMANENT_ERRORS.has(code);
}

/** Rethrows a failed Slack call for the effect runner: a permanent refusal settles the effect (GiveUp), anything
 * else is retried with backoff. */
export function rethrowForRunner(err: unknown, what: string): never {
  if (isPermanentSlackError(err)) throw new GiveUp(`${what}: Slack answered ${slackErrorCode(err)}`);
  throw err;
}
