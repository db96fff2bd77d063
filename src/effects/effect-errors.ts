/** Thrown by a handler: the effect could not be delivered now, try again no sooner than `afterMs` (e.g. Slack's
 * Retry-After). Only its lane waits; the attempt is counted. */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
  constructor(
    readonly afterMs: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Thrown by a handler: the effect can never be delivered (e.g. Slack's channel_not_found). It is settled
 * (deliveredAt with gaveUp = true and the reason as lastError), a warning is logged, and its lane goes on. */
export class GiveUp extends Error {
  override readonly name = 'GiveUp';
  constructor(readonly reason: string) {
    super(reason);
  }
}
