/** Secrets handed to the requester alone (temporary logins). Never stored, logged, queued or posted in a channel. */
export interface Credentials {
  username: string;
  password: string;
  /** How to connect, without the password (e.g. `postgres://bg_42_alice@db.internal:5432/payments`). */
  connectionHint: string | null;
}
