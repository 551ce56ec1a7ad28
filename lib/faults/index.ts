export { UnknownBugSwitchError } from './errors.ts';
export {
  BUG_SWITCHES,
  type BugSwitch,
  bugEnabled,
  bugsFromList,
  disableAllBugs,
  enableBugs,
  enabledBugs,
  withBug,
} from './switches.ts';
