"""ruralpost: checks rural delivery stations and subsidy claims against the 静乐县 2023 programme.

`ruralpost.v1` holds the stubs generated from `protos/`, `ruralpost.service` the gRPC service and
`ruralpost.clients` the client library and batch CLI (which never imports the service).
"""
