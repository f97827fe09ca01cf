// The gateway's field-level authorization decision: a pure function of schema, document and caller.
// It lives in the kit because every subgraph runs the same decision again (defense in depth).
export * from '@citadel/kit/authorization/index';
