// A human-approval workflow with the Step Functions "wait for callback" pattern:
//
//   EventBridge rule ─▶ state machine ─▶ "Ask for approval": SQS message with the task token (.waitForTaskToken)
//   queue ─▶ notify-approver (nodejs14.x, aws-sdk v2) ─▶ SNS email with an Approve link to the API
//   person clicks ─▶ API Gateway GET /approve ─▶ approve (nodejs20.x, @aws-sdk v3) ─▶ SendTaskSuccess
//   state machine ─▶ "Process request" (process-request) ─▶ done
import * as path from 'path';
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

export interface ApprovalStackProps extends StackProps {
  approverEmail: string;
}

export const EVENT_SOURCE = 'example.approvals';
export const EVENT_DETAIL_TYPE = 'ApprovalRequested';

function code(name: string): lambda.Code {
  return lambda.Code.fromAsset(path.join(__dirname, '..', 'lambda', name));
}

export class ApprovalStack extends Stack {
  constructor(scope: Construct, id: string, props: ApprovalStackProps) {
    super(scope, id, props);

    const topic = new sns.Topic(this, 'ApprovalTopic', { displayName: 'Approvals' });
    topic.addSubscription(new subscriptions.EmailSubscription(props.approverEmail));

    const requests = new sqs.Queue(this, 'ApprovalRequests', { visibilityTimeout: Duration.seconds(60) });

    // The approver's link: API Gateway in front of the function that answers the waiting task.
    const approve = new lambda.Function(this, 'Approve', {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'index.handler',
      code: code('approve'),
      timeout: Duration.seconds(10),
    });
    const api = new apigateway.LambdaRestApi(this, 'ApprovalApi', { handler: approve, proxy: false });
    api.root.addResource('approve').addMethod('GET');

    const notify = new lambda.Function(this, 'NotifyApprover', {
      runtime: lambda.Runtime.NODEJS_14_X,
      handler: 'index.handler',
      code: code('notify-approver'),
      timeout: Duration.seconds(30),
      environment: { TOPIC_ARN: topic.topicArn, API_URL: api.url },
    });
    topic.grantPublish(notify);
    notify.addEventSource(new SqsEventSource(requests, { batchSize: 1 }));

    const processRequest = new lambda.Function(this, 'ProcessRequest', {
      runtime: lambda.Runtime.NODEJS_20_X,
      handler: 'index.handler',
      code: code('process-request'),
      timeout: Duration.seconds(10),
    });

    const askForApproval = new tasks.SqsSendMessage(this, 'Ask for approval', {
      queue: requests,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      messageBody: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        request: sfn.JsonPath.entirePayload,
      }),
      resultPath: '$.approval',
      taskTimeout: sfn.Timeout.duration(Duration.hours(24)),
    });
    const process = new tasks.LambdaInvoke(this, 'Process request', {
      lambdaFunction: processRequest,
      payloadResponseOnly: true,
    });
    const machine = new sfn.StateMachine(this, 'ApprovalWorkflow', {
      definitionBody: sfn.DefinitionBody.fromChainable(askForApproval.next(process)),
      timeout: Duration.days(2),
    });
    machine.grantTaskResponse(approve);

    new events.Rule(this, 'ApprovalRequested', {
      eventPattern: { source: [EVENT_SOURCE], detailType: [EVENT_DETAIL_TYPE] },
      targets: [new targets.SfnStateMachine(machine, { input: events.RuleTargetInput.fromEventPath('$.detail') })],
    });

    new CfnOutput(this, 'StateMachineArn', { value: machine.stateMachineArn });
    new CfnOutput(this, 'ApiUrl', { value: api.url });
    new CfnOutput(this, 'TopicArn', { value: topic.topicArn });
  }
}
