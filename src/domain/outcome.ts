import type { Refusal } from './approval-rules';

/** What a use case answers: a success with its values, or a refusal people can read. */
export type Outcome<Value, Code extends string> = ({ ok: true } & Value) | Refusal<Code>;
