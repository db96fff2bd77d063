/** Where a channel's audit summaries go. The one place this is decided (summary batching lives elsewhere). */
export interface SummaryDestination {
  /** The channel the merged summaries are posted in, or null (an archived channel and no security channel). */
  channel: string | null;
  /** Each requester also gets their own summary by DM. */
  toRequesters: boolean;
}

/** The request's channel, unless it is archived (Slack answers `is_archived`): then the security channel
 * (`alerts.securityChannel`, if set) and each requester by DM. */
export function summaryDestination(channelId: string, { archived, securityChannel }: { archived: boolean; securityChannel: string | null }): SummaryDestination {
  return archived ? { channel: securityChannel, toRequesters: true } : { channel: channelId, toRequesters: false };
}
