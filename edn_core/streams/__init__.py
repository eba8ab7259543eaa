"""Event streams: durable partitioned logs with consumer groups (``port``), their adapters
(a database log, Redis Streams, NATS JetStream) and windowed stateful processing."""
