import type { Command } from '../../../domain/command';
import { mentionChannel } from '../../../domain/user-text';
import { buildAccessReport } from '../../blocks/access-report';
import { reportLinks } from '../../deliveries/report-digest';
import { LIST_LIMIT, buildRequestList, buildRequestStatus } from '../../blocks/request-list';
import { buildTimeline } from '../../blocks/request-timeline';
import type { SlackMessage } from '../../surface';
import type { ListenerDeps } from '../types';

export type Subcommand = Extract<Command, { kind: 'list' | 'status' | 'revoke' | 'extend' | 'audit' | 'report' }>;

const warning = (message: string) => `:warning: ${message}`;

/** The answer to `/breakglass list|status|revoke|extend|audit|report …`. Requests are found by their human id among those
 * the user may see; revoke and extend then go through AccessService, which checks again who may. */
export async function answerSubcommand({ service, queries, reports, surface }: ListenerDeps, userId: string, command: Subcommand): Promise<SlackMessage | string> {
  if (command.kind === 'report') {
    const result = await reports.forPerson(userId, command.days);
    if (!result.ok) return warning(result.message);
    return buildAccessReport(result.report, { links: await reportLinks(surface, result.report), unsealed: result.unsealed, title: `Access report, last ${command.days} days` });
  }
  if (command.kind === 'list') return buildRequestList(await queries.listVisible(userId, LIST_LIMIT), new Date());
  if (command.kind === 'audit') {
    const timeline = await queries.timeline(command.requestNumber, userId);
    return timeline.ok ? buildTimeline(timeline.view, timeline.events) : warning(timeline.message);
  }
  const found = await queries.findVisible(command.requestNumber, userId);
  if (!found.ok) return warning(found.message);
  const { view } = found;
  switch (command.kind) {
    case 'status':
      return buildRequestStatus(view);
    case 'revoke': {
      const result = await service.revokeNow(view.id, userId);
      return result.ok ? `Revoking ${view.humanId} now; the audit summary follows in ${mentionChannel(view.channelId)} when it is done.` : warning(result.message);
    }
    case 'extend': {
      const result = await service.requestExtension(view.id, userId, command.durationText);
      return result.ok ? result.message : warning(result.message);
    }
  }
}
