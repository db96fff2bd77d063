import type { Logger } from 'pino';
import { isOnCallPrincipal } from '../domain/on-call';
import { resolveLogin, type LoginResolution, type SlackAccount } from '../domain/people';
import type { Policy } from '../policy/types';
import { isPersonPrincipal, isUserGroupId, referencedGroupIds, referencedOnCallPrincipals } from '../policy/policy-queries';
import type { SlackSurface } from '../slack/surface';
import type { OnCallDirectory } from './on-call';

/** The principals standing for several people that a user belongs to now (user groups, on-call schedules), and the
 * on-call schedules that could not be checked (PagerDuty unreachable). */
export interface Memberships {
  ids: ReadonlySet<string>;
  unreachable: readonly string[];
}

const GROUP_CACHE_MS = 60_000;

/** Who a Slack user is on target systems, and which of the policy's user groups they belong to. */
export class UserDirectory {
  private readonly groupMembers = new Map<string, { members: ReadonlySet<string>; fetchedAt: number }>();

  constructor(
    private readonly policy: Policy,
    private readonly surface: Pick<SlackSurface, 'getAccount' | 'listUserGroupMembers'>,
    private readonly logger: Logger,
    /** Who is on call for the policy's on-call approvers; without it nobody is (hand-built directories). */
    private readonly onCall?: OnCallDirectory,
  ) {}

  /** What Slack says about the account now (users.info), read afresh each time: someone deactivated or made a guest
   * a moment ago must not request or approve on an old answer. */
  account(userId: string): Promise<SlackAccount> {
    return this.surface.getAccount(userId);
  }

  /** The account's login on the targets: its `identities` entry, else the local part of its Slack e-mail address at
   * one of the policy's `loginEmailDomains` (see domain/people.ts). */
  loginOf(account: Pick<SlackAccount, 'id' | 'email'>): LoginResolution {
    return resolveLogin(account.id, account.email, { identities: this.policy.identities, emailDomains: this.policy.loginEmailDomains });
  }

  /** The policy's user groups (S…) that contain this user. Memberships are cached for a minute. */
  async groupsOf(userId: string): Promise<ReadonlySet<string>> {
    // Fetched side by side: on a cold cache this runs before the modal's ack, inside Slack's 3-second window.
    const groupIds = referencedGroupIds(this.policy);
    const memberships = await Promise.all(groupIds.map((groupId) => this.membersOf(groupId)));
    return new Set(groupIds.filter((_, index) => memberships[index].has(userId)));
  }

  /** groupsOf plus the on-call schedules named as approvers (or only those of `among`, e.g. one role's approvers)
   * that the user is on call for now, for the approver checks (principalMatches); schedules PagerDuty could not
   * answer for are listed as `unreachable`. */
  async membershipsOf(userId: string, among?: readonly string[]): Promise<Memberships> {
    const schedules = among ? among.filter(isOnCallPrincipal) : referencedOnCallPrincipals(this.policy);
    const [groups, onCall] = await Promise.all([this.groupsOf(userId), this.onCallNow(schedules)]);
    const ids = new Set(groups);
    const unreachable: string[] = [];
    for (const answer of onCall) {
      if ('unreachable' in answer) unreachable.push(answer.principal);
      else if (answer.userIds.includes(userId)) ids.add(answer.principal);
    }
    return { ids, unreachable };
  }

  /** Who is on call now for each on-call principal given (see OnCallDirectory); none without one. */
  onCallNow(principals: readonly string[]) {
    return this.onCall?.all(principals) ?? Promise.resolve([]);
  }

  /** The people a list of principals names (approvers, emergency reviewers): the user ids themselves, the members
   * of the user groups and whoever is on call now for the on-call schedules; "*" names nobody here. */
  async usersOf(principals: readonly string[]): Promise<string[]> {
    const users = new Set<string>();
    for (const principal of principals) if (isPersonPrincipal(principal)) users.add(principal);
    const groups = principals.filter(isUserGroupId);
    const [memberships, onCall] = await Promise.all([Promise.all(groups.map((groupId) => this.membersOf(groupId))), this.onCallNow(principals.filter(isOnCallPrincipal))]);
    for (const members of memberships) for (const member of members) users.add(member);
    for (const answer of onCall) if ('userIds' in answer) for (const userId of answer.userIds) users.add(userId);
    return [...users];
  }

  /** Members of one user group (cached like groupsOf); a group Slack cannot resolve is empty. */
  async membersOf(groupId: string): Promise<ReadonlySet<string>> {
    const cached = this.groupMembers.get(groupId);
    if (cached && Date.now() - cached.fetchedAt < GROUP_CACHE_MS) return cached.members;
    try {
      const members = new Set(await this.surface.listUserGroupMembers(groupId));
      this.groupMembers.set(groupId, { members, fetchedAt: Date.now() });
      return members;
    } catch (err) {
      // A group Slack cannot resolve (deleted, missing scope) grants nobody anything; it must not break
      // requests that do not depend on it. Not cached, so a fixed group works on the next click.
      this.logger.warn({ err, groupId }, 'could not read user group members; treating the group as empty');
      return new Set();
    }
  }
}
