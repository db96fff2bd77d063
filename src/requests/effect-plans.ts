import type { NewEffect } from '../effects/outbox';

/** What an effect needs to know about its request to be routed: ids for lanes, nothing that changes. */
export interface EffectSubject {
  id: string;
  channelId: string;
  requesterId: string;
}

/** The thread notices a state change can imply; each is rendered from the request as it is when delivered, plus
 * the facts of the moment in its payload (who clicked, how many approvals there were then). */
export type ThreadNotice =
  | { notice: 'approval_recorded'; approverId: string; approvals: number }
  | { notice: 'granted' }
  | { notice: 'grant_failed' }
  | { notice: 'denied' }
  | { notice: 'revoke_requested'; actorId: string }
  | { notice: 'timed_out'; requestTtlSeconds: number }
  | { notice: 'extended'; actorId: string; extendBySeconds: number }
  | { notice: 'extension_outcome'; extensionId: string }
  | { notice: 'access_missing' }
  | { notice: 'access_reappeared'; revoked: boolean; error?: string }
  /** Start-up found the resource's provider changed since the grant, and was told to revoke such grants. */
  | { notice: 'provider_changed_revoking' }
  /** Start-up found the resource gone from the policy: nobody can revoke the access through Breakglass. */
  | { notice: 'provider_vanished' }
  /** Start-up was told to revoke grants whose provider changed, but this one is not on the target the policy names now. */
  | { notice: 'provider_changed_not_found'; made: string }
  /** The incident in the request's channel closed (archived, or /breakglass incident close): access ends, or the
   * pending request closes. `actorId` null: Slack did not say who archived the channel. */
  | { notice: 'incident_closed'; via: 'archive' | 'command'; actorId: string | null; pending: boolean }
  | { notice: 'summary' }
  /** Emergency access was invoked (the loud alert, with the review buttons). */
  | { notice: 'emergency_invoked' }
  /** A reviewer marked the emergency grant justified, or flagged it. */
  | { notice: 'emergency_reviewed' };

/** The emergency alerts outside the thread: where to, and which. `invoked` and `overdue` carry the review buttons. */
export type EmergencyNotice = { message: 'invoked' | 'reviewed' | 'flagged' | 'reminder' | 'overdue'; notice?: number } & ({ channel: string } | { reviewer: string });

export type DirectMessage = { message: 'granted' } | { message: 'reminder' } | { message: 'extension_outcome'; extensionId: string };

/**
 * Effects by pool and lane. Pools have runners of their own, so one kind of work never waits behind another's backlog:
 * `provider` (targets), `jobs` (BullMQ), `slack` (a request's messages and DMs), `summary` (what the channels read when
 * access ends, ahead of the threads' replies), `home` (App Homes). A lane is delivered one effect at a time, in the
 * order written:
 * - `thread:<request>`: the approval message, then every reply in its thread (they need its ts, and read in order);
 * - `message:<request>`: updates of the approval message, each rendering the request as it is then (so a burst of
 *   them is one update);
 * - `summary:<channel>`: audit summaries posted to the channel, merged when several wait;
 * - `dm:<user>`: direct messages;
 * - `access:<request>`: work on the target (grant, moving its expiry), never behind a Slack call;
 * - `jobs:<request>`: BullMQ alarm clocks (expiry, reminder);
 * - `alert:<request>`: the failing-revocation alerts;
 * - `emergency:<request>:<channel>`, `review:<request>`, `offer:<request>`: emergency alerts per channel, the review's
 *   overdue alarm (runAfter), and the requester's "Break glass now" offer (runAfter);
 * - `home`: App Home refreshes, handed over in batches;
 * - `ended`: requests whose access just ended, turned into their messages in batches (see accessEnded).
 */
export const effectsFor = {
  postRequest: (r: EffectSubject): NewEffect => ({ pool: 'slack', lane: `thread:${r.id}`, kind: 'request.post', requestId: r.id }),
  refresh: (r: EffectSubject): NewEffect => ({ pool: 'slack', lane: `message:${r.id}`, kind: 'request.refresh', requestId: r.id }),
  thread: (r: EffectSubject, notice: ThreadNotice): NewEffect => ({ pool: 'slack', lane: `thread:${r.id}`, kind: 'thread.notice', requestId: r.id, payload: notice }),
  summary: (r: EffectSubject): NewEffect => ({ pool: 'summary', lane: `summary:${r.channelId}`, kind: 'channel.summary', requestId: r.id }),
  directMessage: (r: EffectSubject, message: DirectMessage): NewEffect => ({ pool: 'slack', lane: `dm:${r.requesterId}`, kind: 'dm.requester', requestId: r.id, payload: message }),
  extensionPost: (r: EffectSubject, extensionId: string): NewEffect => ({
    pool: 'slack',
    lane: `thread:${r.id}`,
    kind: 'extension.post',
    requestId: r.id,
    payload: { extensionId },
  }),
  extensionRefresh: (r: EffectSubject, extensionId: string): NewEffect => ({
    pool: 'slack',
    lane: `extension:${extensionId}`,
    kind: 'extension.refresh',
    requestId: r.id,
    payload: { extensionId },
  }),
  revokeAlert: (r: EffectSubject): NewEffect => ({ pool: 'slack', lane: `alert:${r.id}`, kind: 'revoke.alert', requestId: r.id }),
  /** The drift check found access back on the target after its request ended: the thread and the security channel
   * hear it. */
  driftAlert: (r: EffectSubject, outcome: { revoked: boolean; error?: string }): NewEffect => ({
    pool: 'slack',
    lane: `alert:${r.id}`,
    kind: 'drift.alert',
    requestId: r.id,
    payload: { notice: 'access_reappeared', ...outcome },
  }),
  /** A live grant whose resource left the policy: the thread and the security channel hear it, as with drift. */
  providerVanishedAlert: (r: EffectSubject): NewEffect => ({
    pool: 'slack',
    lane: `alert:${r.id}`,
    kind: 'drift.alert',
    requestId: r.id,
    payload: { notice: 'provider_vanished' },
  }),
  /** A grant start-up was told to revoke, not found on the target its provider names now: as providerVanishedAlert. */
  providerNotFoundAlert: (r: EffectSubject, made: string): NewEffect => ({
    pool: 'slack',
    lane: `alert:${r.id}`,
    kind: 'drift.alert',
    requestId: r.id,
    payload: { notice: 'provider_changed_not_found', made },
  }),
  /** An emergency alert to a channel (security, notify) or a reviewer's DM; rendered from the request as it is then. */
  emergencyNotice: (r: EffectSubject, notice: EmergencyNotice): NewEffect => ({
    pool: 'slack',
    lane: 'channel' in notice ? `emergency:${r.id}:${notice.channel}` : `dm:${notice.reviewer}`,
    kind: 'emergency.notice',
    requestId: r.id,
    payload: notice,
  }),
  /** The DB-held alarm for the review's next overdue notice (number `notice`): the outbox delivers it at `at`, once. */
  reviewOverdue: (r: EffectSubject, at: Date, notice: number): NewEffect => ({
    pool: 'jobs',
    lane: `review:${r.id}`,
    kind: 'emergency.overdue',
    requestId: r.id,
    payload: { notice },
    runAfter: at,
  }),
  /** Tells the requester, at `at`, that a waiting request may now be broken open (Break glass now). */
  breakGlassOffer: (r: EffectSubject, at: Date): NewEffect => ({ pool: 'slack', lane: `offer:${r.id}`, kind: 'emergency.offer', requestId: r.id, runAfter: at }),
  home: (r: EffectSubject): NewEffect => ({ pool: 'home', lane: 'home', kind: 'home.changed', requestId: r.id }),
  /** `summaryWritten`: the channel's summary was written with it (accessEnded). */
  ended: (r: EffectSubject, { grantFailed }: { grantFailed: boolean }): NewEffect => ({
    pool: 'summary',
    lane: 'ended',
    kind: 'request.ended',
    requestId: r.id,
    payload: { grantFailed, summaryWritten: true },
  }),
  grant: (r: EffectSubject): NewEffect => ({ pool: 'provider', lane: `access:${r.id}`, kind: 'access.grant', requestId: r.id }),
  extendOnTarget: (r: EffectSubject, expiresAt: Date): NewEffect => ({
    pool: 'provider',
    lane: `access:${r.id}`,
    kind: 'access.extend',
    requestId: r.id,
    payload: { expiresAt: expiresAt.toISOString() },
  }),
  scheduleExpiry: (r: EffectSubject, at: Date): NewEffect => ({ pool: 'jobs', lane: `jobs:${r.id}`, kind: 'expiry.schedule', requestId: r.id, payload: { at: at.toISOString() } }),
  scheduleReminder: (r: EffectSubject, at: Date, expiresAt: Date): NewEffect => ({
    pool: 'jobs',
    lane: `jobs:${r.id}`,
    kind: 'reminder.schedule',
    requestId: r.id,
    payload: { at: at.toISOString(), expiresAt: expiresAt.toISOString() },
  }),
};

/** What people see change with any state change: the approval message, the thread, the App Homes. */
export function shown(r: EffectSubject, notice: ThreadNotice): NewEffect[] {
  return [effectsFor.refresh(r), effectsFor.thread(r, notice), effectsFor.home(r)];
}

/** Access is gone (expired, revoked, rolled back): written with the change, the channel's summary (unless the
 * grant never took) and one effect that becomes the other messages (endedNotices) when delivered. An expiry burst
 * ends thousands of requests per second: two rows each keep its sweeps' transactions short, the channel's digest
 * can go out as soon as the burst's revocations are done (issue 14: every channel sees every end within 10 s), and
 * the rest is written after it. */
export function accessEnded(r: EffectSubject, { grantFailed }: { grantFailed: boolean }): NewEffect[] {
  return [effectsFor.ended(r, { grantFailed }), ...(grantFailed ? [] : [effectsFor.summary(r)])];
}

/** What people see when access is gone, besides the channel's summary (accessEnded): the message loses its buttons,
 * the thread gets the audit summary, and the App Homes change. `channelSummary`: an `ended` effect written before
 * the channel's summary was written with the change (queued when the bot was upgraded) still brings it. */
export function endedNotices(r: EffectSubject, { channelSummary }: { channelSummary: boolean }): NewEffect[] {
  return [...shown(r, { notice: 'summary' }), ...(channelSummary ? [effectsFor.summary(r)] : [])];
}
