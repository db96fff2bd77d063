import type { KnownBlock } from '@slack/web-api';
import { formatDuration } from '../../domain/duration';
import type { RequestView } from '../../domain/request-view';
import { SYSTEM_ACTOR } from '../../domain/timeline-event';
import type { TimelineEvent } from '../../domain/timeline-event';
import type { SlackMessage } from './message';
import { inlineCode, mentionUser, slackDate } from './format';
import { reviewLine } from './emergency';
import { requestHeadline } from './request-lines';

/** Slack allows 50 blocks per message; the title and the closing note take two. */
const MAX_TIMELINE_BLOCKS = 45;
/** Under Slack's 3000 characters per text object. */
const MAX_BLOCK_TEXT = 2800;
/** A revocation retried for hours writes hundreds of failures; runs longer than this are summarised. */
const MAX_FAILURE_RUN = 3;

function who(actor: string): string {
  return actor === SYSTEM_ACTOR ? 'Breakglass' : mentionUser(actor);
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function dateText(value: unknown): string | null {
  const text = str(value);
  const date = text ? new Date(text) : null;
  return date && !Number.isNaN(date.getTime()) ? slackDate(date) : null;
}

/** `details.error` and other free text come from targets and people: escaped and clipped. */
function quoted(value: unknown): string {
  return inlineCode(str(value) ?? 'no details', 300);
}

/** One audit event in words. Actions this version does not know are still shown, by name, with their actor. */
export function describeEvent(event: TimelineEvent): string {
  const { actor, details: d } = event;
  switch (event.action) {
    case 'REQUESTED':
      return `${who(actor)} requested \`${str(d.role) ?? '?'}\` on \`${str(d.resource) ?? '?'}\` for ${num(d.durationSeconds) !== null ? formatDuration(num(d.durationSeconds)!) : '?'}${str(d.ticket) ? ` (ticket ${quoted(d.ticket)})` : ''}`;
    case 'POST_FAILED':
      return 'The approval message could not be posted; the request failed';
    case 'APPROVAL_RECORDED':
      return `${who(actor)} approved${num(d.approvals) !== null && num(d.required) !== null ? ` (${num(d.approvals)} of ${num(d.required)})` : ''}`;
    case 'QUORUM_REACHED':
      return `Enough approvals${dateText(d.expiresAt) ? `; access until ${dateText(d.expiresAt)}` : ''}`;
    case 'DENIED':
      return `${who(actor)} denied the request`;
    case 'WITHDRAWN':
      return `${who(actor)} withdrew the request`;
    case 'GRANTED':
      return `Granted \`${str(d.grant) ?? '?'}\` to ${inlineCode(str(d.login) ?? '?', 100)}${str(d.temporaryLogin) ? ` (temporary login ${inlineCode(str(d.temporaryLogin)!, 100)})` : ''} and verified on the target${dateText(d.expiresAt) ? `, until ${dateText(d.expiresAt)}` : ''}`;
    case 'GRANT_FAILED':
      return `Granting failed: ${quoted(d.error)}; rolling back`;
    case 'REVOKE_REQUESTED':
      return `${who(actor)} asked to revoke the access now`;
    case 'EXPIRY_REACHED':
      return 'Expiry time reached; revoking';
    case 'REVOKE_FAILED':
      return `Revocation attempt ${num(d.attempt) ?? '?'} failed: ${quoted(d.error)}`;
    case 'REVOKED':
    case 'EXPIRED':
    case 'ROLLED_BACK': {
      const what = event.action === 'REVOKED' ? 'Access revoked early' : event.action === 'EXPIRED' ? 'Access revoked at expiry' : 'Partial grant rolled back';
      const kept = str(d.keptOnTargetFor);
      return `${what} and verified gone${kept ? ` (left in place on the target for ${inlineCode(kept, 40)}, which still holds it)` : ''}`;
    }
    case 'INCIDENT_CLOSED':
      return `${str(d.via) === 'archive' ? `The incident channel was archived${actor !== SYSTEM_ACTOR ? ` by ${who(actor)}` : ''}` : `${who(actor)} closed the incident`}; ${str(d.outcome) === 'closed' ? 'the request closed without a decision' : 'the access ends now'}`;
    case 'TIMED_OUT':
      if (str(d.reason)) return `Closed without a decision: ${quoted(d.reason)}`;
      return `Nobody decided${num(d.requestTtlSeconds) !== null ? ` within ${formatDuration(num(d.requestTtlSeconds)!)}` : ''}; the request timed out`;
    case 'REVOKE_ALERTED':
      return `Alert raised after ${num(d.attempts) ?? '?'} failed revocation attempts`;
    case 'RETRY_REQUESTED':
      return `${who(actor)} asked to retry the revocation now`;
    case 'EXTENDED':
      return `${who(actor)} extended the access${dateText(d.from) ? ` from ${dateText(d.from)}` : ''}${dateText(d.to) ? ` to ${dateText(d.to)}` : ''}`;
    case 'EXTEND_ON_TARGET_FAILED':
      return `The target did not take the new expiry: ${quoted(d.error)}`;
    case 'REMINDER_SENT':
      return `Reminder sent to the requester${dateText(d.expiresAt) ? ` (access ends ${dateText(d.expiresAt)})` : ''}`;
    case 'DRIFT_REVOKED':
      return 'The drift check found the access back on the target after it had ended, and revoked it again';
    case 'DRIFT_REVOKE_FAILED':
      return `The drift check found the access back on the target after it had ended; revoking it again failed: ${quoted(d.error)}`;
    case 'DRIFT_MISSING':
      return 'The drift check found the access missing from the target while the request is active';
    case 'PROVIDER_FINGERPRINT_RECORDED':
      return "The provider's configuration was recorded on the grant (made before this was kept)";
    case 'PROVIDER_CHANGE_ACCEPTED':
      return "The resource's provider changed since the grant; the change was accepted at start-up, and the new configuration will revoke it";
    case 'PROVIDER_CHANGE_REVOKED':
      return "The resource's provider changed since the grant; revoking it now with the new configuration, as set at start-up";
    case 'PROVIDER_CHANGE_NOT_FOUND':
      return "The resource's provider changed since the grant and start-up was told to revoke it, but the access is not on the target the policy names now: it may remain where it was granted; remove it there by hand";
    case 'PROVIDER_VANISHED':
      return 'The resource is no longer in the policy: Breakglass cannot revoke this access; remove it on the target by hand';
    case 'EXTENSION_REQUESTED':
      return `${who(actor)} asked for ${num(d.extendBySeconds) !== null ? `${formatDuration(num(d.extendBySeconds)!)} more` : 'more time'}${num(d.approvalsRequired) !== null ? ` (${num(d.approvalsRequired)} approval${num(d.approvalsRequired) === 1 ? '' : 's'} needed)` : ''}`;
    case 'EXTENSION_APPROVAL_RECORDED':
      return `${who(actor)} approved the extension${num(d.approvals) !== null && num(d.required) !== null ? ` (${num(d.approvals)} of ${num(d.required)})` : ''}`;
    case 'EXTENSION_DENIED':
      return `${who(actor)} denied the extension`;
    case 'EXTENSION_WITHDRAWN':
      return `${who(actor)} withdrew the extension`;
    case 'EXTENSION_REFUSED':
      return `The approved extension could not be applied: ${quoted(d.reason)}`;
    case 'EXTENSION_CANCELLED':
      return 'The waiting extension was closed: the access ended first';
    case 'EMERGENCY_INVOKED': {
      const via =
        str(d.via) === 'escalation' ? ' (Break glass now on the waiting request)' : str(d.via) === 'form' ? ' (request form)' : str(d.via) === 'command' ? ' (command)' : '';
      return `:rotating_light: ${who(actor)} invoked EMERGENCY ACCESS${via}: granted without approval${dateText(d.expiresAt) ? ` until ${dateText(d.expiresAt)}` : ''}${dateText(d.reviewDueAt) ? `; review due ${dateText(d.reviewDueAt)}` : ''}`;
    }
    case 'EMERGENCY_REVIEWED':
      return `${who(actor)} reviewed the emergency access: justified`;
    case 'EMERGENCY_FLAGGED':
      return `:triangular_flag_on_post: ${who(actor)} FLAGGED the emergency access: ${quoted(d.reason)}`;
    case 'EMERGENCY_REVIEW_OVERDUE':
      return `Emergency review overdue${dateText(d.dueAt) ? ` (due ${dateText(d.dueAt)})` : ''}: notice ${num(d.notice) ?? '?'} sent to the reviewers and the security channel`;
    default: {
      // Reminders, extension approvals and whatever comes later: readable without a release of this file.
      const words = event.action.toLowerCase().replace(/_/g, ' ');
      return `${words[0]?.toUpperCase() ?? ''}${words.slice(1)}${actor !== SYSTEM_ACTOR ? ` by ${who(actor)}` : ''}`;
    }
  }
}

/** Long runs of failed revocation attempts shrink to the first and last few, with a count in between. */
function collapseFailureRuns(events: readonly TimelineEvent[]): Array<TimelineEvent | { skipped: number }> {
  const out: Array<TimelineEvent | { skipped: number }> = [];
  let index = 0;
  while (index < events.length) {
    let end = index;
    while (events[index].action === 'REVOKE_FAILED' && end + 1 < events.length && events[end + 1].action === 'REVOKE_FAILED') end++;
    const run = events.slice(index, end + 1);
    if (run.length > 2 * MAX_FAILURE_RUN) {
      out.push(...run.slice(0, MAX_FAILURE_RUN), { skipped: run.length - 2 * MAX_FAILURE_RUN }, ...run.slice(-MAX_FAILURE_RUN));
    } else {
      out.push(...run);
    }
    index = end + 1;
  }
  return out;
}

/** One line per event (long runs of failures collapsed), oldest first: `• <time> — <what happened>`. */
export function timelineLines(events: readonly TimelineEvent[]): string[] {
  return collapseFailureRuns(events).map((entry) => ('skipped' in entry ? `   … ${entry.skipped} more failed attempts …` : `• ${slackDate(entry.at)} — ${describeEvent(entry)}`));
}

/** `/breakglass audit <id>`: every audit event of the request, oldest first, with time and actor. */
export function buildTimeline(view: RequestView, events: readonly TimelineEvent[], now = new Date()): SlackMessage {
  const lines = timelineLines(events);
  const chunks: string[] = [];
  for (const line of lines) {
    const last = chunks.length - 1;
    if (last >= 0 && chunks[last].length + line.length + 1 <= MAX_BLOCK_TEXT) chunks[last] += `\n${line}`;
    else chunks.push(line);
  }
  const shown = chunks.slice(0, MAX_TIMELINE_BLOCKS);
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Timeline of ${requestHeadline(view)}* · requested by ${mentionUser(view.requesterId)} · now ${view.status.toLowerCase()}` },
    },
    ...(view.review ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `*Emergency access* · ${reviewLine(view.review, now)}` }] } as KnownBlock] : []),
    ...shown.map((text): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } })),
  ];
  if (chunks.length > shown.length) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'The timeline is too long for one message; the rest is in the AuditEvent table.' }] });
  }
  if (events.length === 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'No audit events recorded.' }] });
  return { text: `Timeline of ${view.humanId}: ${events.length} event${events.length === 1 ? '' : 's'}, now ${view.status.toLowerCase()}`, blocks };
}
