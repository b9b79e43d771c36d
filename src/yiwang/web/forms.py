"""Submitted forms and uploads for plain-def handlers.

Reading a request is asynchronous and belongs on the event loop; what is done with it (database,
files, spreadsheets) is blocking and belongs in the thread pool. So the form is read by a small async
dependency and handed to the handler, which is a plain `def` that FastAPI runs in the thread pool.
"""

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile


async def read_form(request: Request) -> FormData:
    """The submitted form (cached on the request, so the CSRF check and the handler share one parse)."""
    return await request.form()


PageForm = Annotated[FormData, Depends(read_form)]


def upload_bytes(upload: UploadFile, *, limit: int | None = None) -> bytes:
    """An uploaded file's content, read from its spooled temporary file (blocking: call from a def).

    With a limit, at most limit + 1 bytes are read, enough for the caller to tell the file is too big."""
    upload.file.seek(0)
    return upload.file.read() if limit is None else upload.file.read(limit + 1)
