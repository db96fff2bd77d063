/** Slack's permalink form for a message, built from the workspace's URL (auth.test's `url`):
 * `https://acme.slack.com/archives/<channel>/p<ts without the dot>`. */
export function messagePermalink(workspaceUrl: string, channel: string, ts: string): string {
  return `${workspaceUrl.replace(/\/?$/, '/')}archives/${channel}/p${ts.replace('.', '')}`;
}
