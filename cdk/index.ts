export { MultiActiveApp, type MultiActiveAppProps } from './multi-active-app.ts';
export type { FoundationStack } from './stacks/foundation-stack.ts';
export type { GlobalStack } from './stacks/global-stack.ts';
export type { RegionalStack } from './stacks/regional-stack.ts';
