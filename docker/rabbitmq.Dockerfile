# RabbitMQ from Debian 12's own rabbitmq-server package (3.10.8, what the project's tests run
# against), for hosts that cannot pull rabbitmq:3.10 from Docker Hub:
#   docker build -f docker/rabbitmq.Dockerfile -t kazoo-go-rabbitmq-debian .
#   docker compose -f docker/compose.yaml -f docker/compose.debian-rabbitmq.yaml up
# Like the official image: guest/guest may log in from other containers, AMQP on 5672.
FROM debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        rabbitmq-server \
    && rm -rf /var/lib/apt/lists/*
# a fixed node name (the container's hostname changes), reachable on all interfaces
RUN printf 'NODENAME=rabbit@localhost\n' >/etc/rabbitmq/rabbitmq-env.conf \
    && printf 'loopback_users.guest = false\nlisteners.tcp.default = 5672\n' >/etc/rabbitmq/rabbitmq.conf
USER rabbitmq
ENV HOME=/var/lib/rabbitmq LANG=C.UTF-8
EXPOSE 5672
HEALTHCHECK --interval=5s --timeout=10s --retries=30 CMD ["rabbitmq-diagnostics", "-q", "ping"]
CMD ["/usr/lib/rabbitmq/bin/rabbitmq-server"]
