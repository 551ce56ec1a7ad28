export { type ExecutionReportInput, executionReport } from './execution.ts';
export { reportHtml } from './html.ts';
export { reportMarkdown } from './markdown.ts';
export { type DrillReport, type ObjectiveResult, type ReportExecution, reviewFindings } from './model.ts';
export { timelineBars } from './timeline.ts';
export { writeReport } from './write.ts';
