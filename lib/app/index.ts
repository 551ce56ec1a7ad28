export {
  type Application,
  type ApplicationInput,
  applicationInputSchema,
  defineApp,
  inputOf,
  isApplication,
} from './define.ts';
export { ApplicationConfigError } from './errors.ts';
export { CONFIG_FILE, loadApplication } from './load.ts';
