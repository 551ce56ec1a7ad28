import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SagaExecutionInput, SagaStarter } from './ports.ts';

export interface StepFunctionsSagaStarterOptions {
  readonly client: SFNClient;
  /** This region's Saga state machine (`multiactive-<env>-Saga`). */
  readonly stateMachineArn: string;
}

/**
 * Starts Saga executions with StartExecution. The execution name makes it idempotent: Step Functions
 * refuses a second execution of a name (ExecutionAlreadyExists), which here means "already started".
 * @example await new StepFunctionsSagaStarter({ client, stateMachineArn }).start({ saga: 'transfer', sagaId, startedBy: 'api' }, sagaId)
 */
export class StepFunctionsSagaStarter implements SagaStarter {
  constructor(private readonly options: StepFunctionsSagaStarterOptions) {}

  async start(input: SagaExecutionInput, name: string): Promise<void> {
    try {
      await this.options.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
  }
}
