"""The pipeline's Lambda functions, zipped as this package (handlers `lambdas.<module>.handler`)."""
