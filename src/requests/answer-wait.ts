/** How long a use case waits for the Slack message its answer depends on (an approval message, an extension ask in
 * the thread) to be posted or refused, so that "the bot is not in the channel" is answered in place. Past it the
 * answer is "recorded": the message goes out when Slack takes it, and a later refusal is told another way. */
export const ANSWER_WAIT_MS = 3_000;
const POLL_MS = 50;

/** Reads `read` until `settled` says so, or ANSWER_WAIT_MS have passed; returns the last read. */
export async function readUntilSettled<T>(read: () => Promise<T>, settled: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + ANSWER_WAIT_MS;
  for (;;) {
    const value = await read();
    if (settled(value) || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
