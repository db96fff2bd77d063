/** A point in time as plain text in UTC, for messages that cannot show it in each reader's time zone (a form's
 * field errors are plain text). */
export function formatUtcTime(at: Date, now: Date = new Date()): string {
  const [date, time] = at.toISOString().split('T');
  const clock = `${time.slice(0, 5)} UTC`;
  // The date only when it is not today (UTC): access can last into the next day.
  return date === now.toISOString().slice(0, 10) ? clock : `${date} ${clock}`;
}
