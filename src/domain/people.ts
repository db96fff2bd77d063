/** Who is a person for Breakglass: which Slack accounts may request or approve, which login on the targets an account
 * stands for, and when two accounts are one person (their logins are equal). Pure: the use cases look the accounts
 * up and enforce these rules, the approval ones inside the transaction that records the approval. */
import type { Refusal } from './approval-rules';
import { inlineCode } from './user-text';

/** What Slack says about an account (users.info), as far as these rules need it. */
export interface SlackAccount {
  id: string;
  /** The profile's e-mail address, which users can often edit themselves; null when Slack shows none. */
  email: string | null;
  deleted: boolean;
  isBot: boolean;
  isAppUser: boolean;
  /** A multi-channel guest. */
  isRestricted: boolean;
  /** A single-channel guest. */
  isUltraRestricted: boolean;
  /** Someone from another organisation (Slack Connect). */
  isStranger: boolean;
}

export type AccountKind = 'member' | 'deactivated' | 'bot' | 'guest' | 'external';

/** Only full members of the workspace may request or approve access. */
export function accountKind(account: SlackAccount): AccountKind {
  if (account.deleted) return 'deactivated';
  if (account.isBot || account.isAppUser) return 'bot';
  if (account.isStranger) return 'external';
  if (account.isRestricted || account.isUltraRestricted) return 'guest';
  return 'member';
}

const kindWords: Record<Exclude<AccountKind, 'member'>, string> = {
  deactivated: 'a deactivated account',
  bot: 'a bot or app account',
  guest: 'a guest account',
  external: 'an account from another organisation (Slack Connect)',
};

export type AccountRefusalCode = 'account_not_allowed';

/** Why this account may not act as `as`, or null when it may. */
export function accountRefusal(account: SlackAccount, as: 'requester' | 'approver'): Refusal<AccountRefusalCode> | null {
  const kind = accountKind(account);
  if (kind === 'member') return null;
  const what = as === 'requester' ? 'request access' : 'approve access';
  return {
    ok: false,
    code: 'account_not_allowed',
    message: `Breakglass does not let ${kindWords[kind]} ${what}: only full members of the workspace may. Nothing was changed.`,
  };
}

/** Logins on the targets: lowercase letters, digits, ".", "_" and "-", starting with a letter or digit. */
export const LOGIN_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

export interface LoginSources {
  /** The policy's `identities`: Slack user id -> login. */
  identities: ReadonlyMap<string, string>;
  /** The policy's `loginEmailDomains`, lower case: only addresses at these domains give a login. */
  emailDomains: readonly string[];
}

export type LoginResolution = { ok: true; login: string; from: 'identities' | 'email' } | { ok: false; code: 'no_login'; message: string };

/** The account's login on the targets: its `identities` entry, else the local part of its Slack e-mail address when
 * that address is at one of `loginEmailDomains` (nothing else: people can often edit their own address). */
export function resolveLogin(userId: string, email: string | null, sources: LoginSources): LoginResolution {
  const mapped = sources.identities.get(userId);
  if (mapped) return { ok: true, login: mapped, from: 'identities' };
  const ask = 'ask a Breakglass admin to add you under `identities` in the policy';
  const at = email?.lastIndexOf('@') ?? -1;
  if (!email || at <= 0) return noLogin(`I do not know your login on the target systems: your Slack profile shows no e-mail address, so ${ask}.`);
  const localPart = email.slice(0, at).toLowerCase();
  const domain = email.slice(at + 1).toLowerCase();
  if (!sources.emailDomains.includes(domain)) {
    const listed =
      sources.emailDomains.length === 0 ? 'the policy derives logins from no e-mail domain' : 'its domain is not one the policy derives logins from (`loginEmailDomains`)';
    return noLogin(`I do not know your login on the target systems: I cannot take it from your Slack e-mail address, because ${listed}. To request, ${ask}.`);
  }
  if (!LOGIN_PATTERN.test(localPart)) {
    return noLogin(`I do not know your login on the target systems: the start of your Slack e-mail address is not a valid login, so ${ask}.`);
  }
  return { ok: true, login: localPart, from: 'email' };
}

function noLogin(message: string): LoginResolution {
  return { ok: false, code: 'no_login', message };
}

/** An approval already counted, with the login its approver had then (null: none could be resolved). */
export interface CountedApproval {
  approverId: string;
  login: string | null;
}

export interface SamePersonCheck {
  /** The login of the account approving now; null when it has none (it is then compared by Slack id only). */
  actorLogin: string | null;
  /** The login the request was made (and is granted) under. */
  requesterLogin: string;
  counted: readonly CountedApproval[];
  subject: 'request' | 'extension' | 'emergency review';
}

/** Two accounts whose logins are equal are one person: the approver may not approve for the requester, and counts once.
 * Null when the approver is a different person from the requester and from everyone already counted. */
export function samePersonRefusal(check: SamePersonCheck): Refusal<'same_person'> | null {
  const { actorLogin, subject } = check;
  if (actorLogin === null) return null;
  if (actorLogin === check.requesterLogin) {
    const what = subject === 'request' ? 'approve this request' : subject === 'extension' ? 'approve more time on this access' : 'review your own emergency access';
    const who = subject === 'emergency review' ? 'reviewer' : 'approver';
    return {
      ok: false,
      code: 'same_person',
      message: `Your account and the requester's have the same login on the targets (${inlineCode(actorLogin)}), so Breakglass counts them as one person: you cannot ${what}; another ${who} has to.`,
    };
  }
  const twin = check.counted.find((approval) => approval.login === actorLogin);
  if (twin) {
    return {
      ok: false,
      code: 'same_person',
      message: `<@${twin.approverId}> already approved this ${subject}, and has the same login on the targets as you (${inlineCode(actorLogin)}), so Breakglass counts you as one person: each person counts once; another approver has to.`,
    };
  }
  return null;
}
