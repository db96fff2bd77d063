import type { ExtensionStatus } from './extension-rules';

/** Everything people see about one extension request, beside the view of the request it extends. */
export interface ExtensionView {
  id: string;
  requestId: string;
  requestedBy: string;
  extendBySeconds: number;
  status: ExtensionStatus;
  requiredApprovals: number;
  approvals: Array<{ approverId: string; at: Date }>;
  /** The extension's own message in the request's thread. */
  messageTs: string | null;
  createdAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  fromExpiresAt: Date | null;
  toExpiresAt: Date | null;
  refusalReason: string | null;
}
