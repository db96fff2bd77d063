/** Every interactive id the bot renders. Listeners register on these; builders use them; tests import them. */
export const ActionIds = {
  approve: 'breakglass_approve',
  deny: 'breakglass_deny',
  revokeNow: 'breakglass_revoke_now',
  retryRevoke: 'breakglass_retry_revoke',
  modalResource: 'breakglass_modal_resource',
  /** On active access (App Home, reminder DM): opens the extend modal; value = request id. */
  extendAccess: 'breakglass_extend_access',
  /** On active access (App Home, reminder DM): "I'm done", ends it now; value = request id. */
  finishAccess: 'breakglass_finish_access',
  /** On an extension request in the approval thread; value = extension id. */
  approveExtension: 'breakglass_extension_approve',
  denyExtension: 'breakglass_extension_deny',
  /** On the answer to `/breakglass incident close`; value = JSON { channelId, listedAt }. */
  confirmIncidentClose: 'breakglass_incident_close_confirm',
  /** On a waiting request of a role that allows emergency access, for its requester (DM, App Home); value = request id. */
  breakGlassNow: 'breakglass_break_glass_now',
  /** On emergency alerts and the request message, for reviewers; value = request id. */
  emergencyJustified: 'breakglass_emergency_justified',
  /** Opens the Flag form; value = request id. */
  emergencyFlag: 'breakglass_emergency_flag',
} as const;

export const RequestModal = {
  callbackId: 'breakglass_request_modal',
  blocks: {
    resource: { blockId: 'resource', actionId: ActionIds.modalResource },
    role: { blockId: 'role', actionId: 'role_select' },
    duration: { blockId: 'duration', actionId: 'duration_input' },
    ticket: { blockId: 'ticket', actionId: 'ticket_input' },
    reason: { blockId: 'reason', actionId: 'reason_input' },
    /** "Ask the approvers" / "Emergency (no approval)": read on submit, no listener (so not among ActionIds). */
    kind: { blockId: 'kind', actionId: 'kind_choice' },
  },
} as const;

/** The confirmation of emergency access (from the command or the request form); private_metadata carries the request
 * as JSON (see emergency.ts). Submitting it invokes emergency access. */
export const EmergencyConfirmModal = { callbackId: 'breakglass_emergency_confirm' } as const;

/** Why a reviewer flags an emergency grant; private_metadata is the request id. */
export const FlagModal = {
  callbackId: 'breakglass_emergency_flag_modal',
  blocks: { reason: { blockId: 'flag_reason', actionId: 'flag_reason_input' } },
} as const;

/** The Extend form; its private_metadata is the request id. */
export const ExtendModal = {
  callbackId: 'breakglass_extend_modal',
  blocks: {
    duration: { blockId: 'extend_by', actionId: 'extend_by_input' },
  },
} as const;
