// Reads an approval request (with its task token) from the queue and emails the approver a link to approve it.
// nodejs14.x: the runtime bundles the AWS SDK for JavaScript v2.
const AWS = require('aws-sdk');

const sns = new AWS.SNS();

function approvalLink(taskToken) {
  // API_URL is the API's base URL (CDK's api.url), ending with "/".
  return `${process.env.API_URL}approve?token=${encodeURIComponent(taskToken)}`;
}

exports.handler = async (event) => {
  for (const record of event.Records) {
    const { taskToken, request } = JSON.parse(record.body);
    const title = request.title || 'Untitled request';
    const details = Object.entries(request)
      .filter(([key]) => key !== 'title')
      .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`);
    await sns.publish({
      TopicArn: process.env.TOPIC_ARN,
      Subject: `Approval needed: ${title}`.slice(0, 100),
      Message: [
        `"${title}" is waiting for your approval.`,
        ...(details.length ? ['', 'Details:', ...details] : []),
        '',
        `Approve: ${approvalLink(taskToken)}`,
        '',
        'If you do nothing, the request expires in 24 hours.',
      ].join('\n'),
    }).promise();
    console.log('approval requested for %s', title);
  }
};
