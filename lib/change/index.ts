export {
  type AggregateChange,
  aggregateChanges,
  consistencyOf,
  regionChanges,
  type TypeView,
} from './aggregates.ts';
export { type ChangeImpact, COST_APPROVAL_SHARE, type CostDelta, changeImpact, PLAN_EXIT } from './impact.ts';
export { impactMarkdown } from './markdown.ts';
export { type Phase, type RunbookStep, runbookSteps } from './runbooks.ts';
export { type Impact, type SettingChange, settingChanges } from './settings.ts';
