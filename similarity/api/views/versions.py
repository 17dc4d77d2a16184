"""Read-only views of the model lifecycle: model versions and the jobs that build them."""

from rest_framework import generics

from ...models import Job, ModelVersion
from ..serializers import JobOutputSerializer, ModelVersionOutputSerializer


class ModelVersionListApi(generics.ListAPIView):
    """Model versions, newest first (read-only)."""

    serializer_class = ModelVersionOutputSerializer
    queryset = ModelVersion.objects.all()


class JobDetailApi(generics.RetrieveAPIView):
    """A training or embedding job's state and progress."""

    serializer_class = JobOutputSerializer
    queryset = Job.objects.all()
