/** What the request form and the help text need of a policy resource and role. The policy's ResourceRule and
 * RoleRule (src/policy/types.ts) fit these shapes; naming only these fields keeps the Block Kit builders free of the
 * policy's provider configuration. */
export interface RequestableResource {
  id: string;
  description: string | null;
}

export interface RequestableRoleRule {
  id: string;
  approvals: number;
  maxDurationSeconds: number;
  requireTicket: boolean;
  ticketPattern: RegExp | null;
  /** Present when the role allows emergency access (the form then offers "Emergency (no approval)"). */
  emergency?: { maxDurationSeconds: number } | null;
}

/** One role a user may ask for, with its resource. */
export interface RequestableRole {
  resource: RequestableResource;
  role: RequestableRoleRule;
}
