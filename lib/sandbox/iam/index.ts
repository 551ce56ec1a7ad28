export { type Decision, IamAuthorizer } from './authorizer.ts';
export { asSandbox, type Caller, currentCaller, principalOf, runAs } from './caller.ts';
export {
  type Denial,
  formatIamReport,
  IamEnforcement,
  type IamReport,
  processIamTotals,
} from './enforcement.ts';
export { accessDeniedException, IamSimulationError } from './errors.ts';
export {
  type DeployedTemplate,
  type IamModel,
  iamModelOf,
  type PolicyDocument,
  type RoleModel,
} from './model.ts';
export {
  type AuthorizationRequest,
  busArnOf,
  type CallDescription,
  type CallTarget,
  changeVisibilityCall,
  deleteMessageCall,
  describeDynamoDbCall,
  describeStreamsCall,
  getSecretValueCall,
  invokeCall,
  putEventsCall,
  receiveMessageCall,
  s3ListCall,
  s3ObjectCall,
  sendMessageCall,
  startExecutionCall,
} from './requests.ts';
export { type ClientKind, type InstrumentableClient, instrumentClient } from './sdk-middleware.ts';
export { type CallRecord, CallUsage, type CallUsageRow, SANDBOX_CALLER } from './usage.ts';
