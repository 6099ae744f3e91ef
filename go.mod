module github.com/kazoo-so/kazoo-go

go 1.26

require (
	github.com/rabbitmq/amqp091-go v1.16.0
	github.com/valyala/fastjson v1.6.10
)
