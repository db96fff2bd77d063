/** The sandbox's workspace: who you can be on the page, and the channels the bot posts in. */

export interface SandboxPerson {
  id: string;
  name: string;
  /** Shown next to the name in the "who am I" switcher. */
  part: string;
  /** The login on the demo targets (the local part of the e-mail address: the policy's loginEmailDomains). */
  login: string;
}

export const SANDBOX_PEOPLE: readonly SandboxPerson[] = [
  { id: 'U0ALICE', name: 'Alice', part: 'requester (on call)', login: 'alice' },
  { id: 'U0BOB', name: 'Bob', part: 'approver', login: 'bob' },
  { id: 'U0CAROL', name: 'Carol', part: 'approver', login: 'carol' },
  { id: 'U0DANA', name: 'Dana', part: 'admin', login: 'dana' },
  { id: 'U0EVE', name: 'Eve', part: 'outsider (not an approver)', login: 'eve' },
];

export const REQUESTER_ID = 'U0ALICE';
export const APPROVER_IDS = ['U0BOB', 'U0CAROL'] as const;
export const ADMIN_ID = 'U0DANA';

export interface SandboxChannel {
  id: string;
  name: string;
  topic: string;
}

/** Requests are taken in #incidents; revocation alerts also go to #security. */
export const SANDBOX_CHANNELS: readonly SandboxChannel[] = [
  { id: 'C0INCIDENTS', name: 'incidents', topic: 'Ask for production access here: /breakglass help' },
  { id: 'C0SECURITY', name: 'security', topic: 'Alerts about revocations that failed' },
];

/** The e-mail domain of the sandbox people; the demo policy takes logins from it. */
export const SANDBOX_EMAIL_DOMAIN = 'example.com';
