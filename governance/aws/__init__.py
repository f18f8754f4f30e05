"""The only package that talks to AWS (boto3). Answers leave it as frozen dataclasses."""
