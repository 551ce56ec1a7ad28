export { UnknownBugSwitchError } from './errors.ts';
export {
  BUG_SWITCHES,
  type BugSwitch,
  bugEnabled,
  bugsFromList,
  disableAllBugs,
  enableBugs,
  withBug,
} from './switches.ts';
