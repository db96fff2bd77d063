import type { Db } from '../db/prisma';
import { computeAccessReport, type AccessReport, type ReportPeriod } from '../domain/access-report';
import type { Outcome } from '../domain/outcome';
import { mayReadReports, REPORT_REFUSAL } from '../domain/report-audience';
import type { Policy } from '../policy/types';
import type { UserDirectory } from '../services/user-directory';
import { loadReportSource } from './report-events';

export interface ComputedReport {
  report: AccessReport;
  /** Events of the period not sealed yet, so left out. */
  unsealed: number;
}

const DAY_MS = 86_400_000;

/** The review reports' use case: computing a period's report from the sealed audit events, for the people allowed
 * to read it. Changes nothing. */
export class AccessReports {
  constructor(private readonly deps: { db: Db; policy: Policy; directory: Pick<UserDirectory, 'membershipsOf'>; now?: () => Date }) {}

  async compute(period: ReportPeriod): Promise<ComputedReport> {
    const source = await loadReportSource(this.deps.db, period);
    return { report: computeAccessReport(period, source.events, source.refs), unsealed: source.unsealed };
  }

  /** The last `days` days up to now, if this person is an admin or an emergency reviewer. */
  async forPerson(userId: string, days: number): Promise<Outcome<ComputedReport, 'not_allowed'>> {
    const reviewers = this.deps.policy.resources.flatMap((resource) => resource.roles.flatMap((role) => role.emergency?.reviewers ?? []));
    const { ids: memberships } = await this.deps.directory.membershipsOf(userId, reviewers);
    if (!mayReadReports(this.deps.policy, { userId, memberships })) return { ok: false, code: 'not_allowed', message: REPORT_REFUSAL };
    const until = this.deps.now?.() ?? new Date();
    return { ok: true, ...(await this.compute({ since: new Date(until.getTime() - days * DAY_MS), until })) };
  }
}
