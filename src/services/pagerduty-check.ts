import type { Logger } from 'pino';
import { pagerDutyScheduleId } from '../domain/on-call';
import type { Policy } from '../policy/types';
import type { PagerDutyClient } from './pagerduty';

/** The policy names PagerDuty schedules that PagerDuty says do not exist (or refuses the token): start-up stops. */
export class PagerDutyScheduleError extends Error {
  override readonly name = 'PagerDutyScheduleError';
}

/** Start-up check of the policy's `pagerduty:` approvers against PagerDuty (GET /schedules/{id}): an unknown
 * schedule (404) or a refused token stops the start with a pointed message; PagerDuty unreachable only warns, since
 * the bot must start during a PagerDuty outage (the request messages then say so). */
export async function checkPagerDutySchedules({ policy, pagerDuty, logger }: { policy: Policy; pagerDuty: PagerDutyClient | null; logger: Logger }): Promise<void> {
  const rolesBySchedule = new Map<string, string[]>();
  for (const resource of policy.resources) {
    for (const role of resource.roles) {
      for (const principal of role.approvers) {
        const scheduleId = pagerDutyScheduleId(principal);
        if (scheduleId !== null) rolesBySchedule.set(scheduleId, [...(rolesBySchedule.get(scheduleId) ?? []), `${resource.id}/${role.id}`]);
      }
    }
  }
  if (rolesBySchedule.size === 0) return;
  if (!pagerDuty) throw new PagerDutyScheduleError(`${policy.sourcePath}: pagerduty: approvers need PAGERDUTY_TOKEN`);
  const problems: string[] = [];
  const scheduleIds = [...rolesBySchedule.keys()].sort();
  const statuses = await Promise.all(scheduleIds.map((scheduleId) => pagerDuty.scheduleStatus(scheduleId)));
  scheduleIds.forEach((scheduleId, index) => {
    const roles = rolesBySchedule.get(scheduleId)!.join(', ');
    const status = statuses[index];
    if (status === 'missing') {
      problems.push(
        `${policy.sourcePath}: "pagerduty:${scheduleId}" (approvers of ${roles}): PagerDuty has no schedule ${scheduleId} (GET /schedules/${scheduleId} answered 404); check the id at the end of the schedule's URL and that PAGERDUTY_TOKEN's account can see it`,
      );
    } else if (status === 'refused') {
      problems.push(`${policy.sourcePath}: PagerDuty refused PAGERDUTY_TOKEN (401/403) when checking schedule ${scheduleId}; use a valid REST API key (read-only is enough)`);
    } else if (status === 'unreachable') {
      logger.warn({ scheduleId, roles }, 'PagerDuty could not be reached to check an on-call schedule at start-up; starting anyway');
    }
  });
  if (problems.length > 0) throw new PagerDutyScheduleError([...new Set(problems)].join('\n'));
}
