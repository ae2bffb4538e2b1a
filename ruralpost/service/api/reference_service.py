"""ReferenceDataService on both doors (thin: the request -> `Methods`): the gRPC servicer and the
HTTP door's Connect service."""

from __future__ import annotations

from typing import Any

from ruralpost.service.api.methods import Methods
from ruralpost.v1 import reference_pb2, reference_pb2_grpc


class ReferenceDataServicer(reference_pb2_grpc.ReferenceDataServiceServicer):
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def GetReferenceData(
        self, request: reference_pb2.GetReferenceDataRequest, context: Any
    ) -> reference_pb2.GetReferenceDataResponse:
        return await self.methods.get_reference_data(request)

    async def ListReferenceVersions(
        self, request: reference_pb2.ListReferenceVersionsRequest, context: Any
    ) -> reference_pb2.ListReferenceVersionsResponse:
        return await self.methods.list_reference_versions(request)

    async def ReplaceReferenceTable(
        self, request: reference_pb2.ReplaceReferenceTableRequest, context: Any
    ) -> reference_pb2.ReplaceReferenceTableResponse:
        return await self.methods.replace_reference_table(request)

    async def ImportReferenceData(
        self, request: reference_pb2.ImportReferenceDataRequest, context: Any
    ) -> reference_pb2.ImportReferenceDataResponse:
        return await self.methods.import_reference_data(request)


class ReferenceDataConnect:
    def __init__(self, methods: Methods) -> None:
        self.methods = methods

    async def get_reference_data(
        self, request: reference_pb2.GetReferenceDataRequest, ctx: Any
    ) -> reference_pb2.GetReferenceDataResponse:
        return await self.methods.get_reference_data(request)

    async def list_reference_versions(
        self, request: reference_pb2.ListReferenceVersionsRequest, ctx: Any
    ) -> reference_pb2.ListReferenceVersionsResponse:
        return await self.methods.list_reference_versions(request)

    async def replace_reference_table(
        self, request: reference_pb2.ReplaceReferenceTableRequest, ctx: Any
    ) -> reference_pb2.ReplaceReferenceTableResponse:
        return await self.methods.replace_reference_table(request)

    async def import_reference_data(
        self, request: reference_pb2.ImportReferenceDataRequest, ctx: Any
    ) -> reference_pb2.ImportReferenceDataResponse:
        return await self.methods.import_reference_data(request)
