// The work that waited for the approval.
exports.handler = async (input) => {
  console.log('processing approved request %j', input);
  return { title: input.title, approvedAt: input.approval.approvedAt, processed: true };
};
