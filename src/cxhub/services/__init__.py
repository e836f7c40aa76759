"""Use cases, one package per capability (same roles everywhere: a module per use case, a
`store` or storage adapter where the capability has tables); the CLI and the web app call these
and nothing deeper. `pipeline` orders the capabilities' refresh steps."""
