"""AWS adapters: thin, typed wrappers over boto3 clients, injectable for tests."""
