"""The platform administrator's pages for relying parties (接入应用) and signing keys."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.security import Principal, require
from yiwang.identity import clients, keys
from yiwang.identity import permissions as perm
from yiwang.identity.page_forms import ClientForm
from yiwang.identity.schemas import SCOPES, ClientCreate, ClientUpdate
from yiwang.org import service as org
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(prefix="/admin/oidc", include_in_schema=False)
Reader = Annotated[Principal, Depends(require(perm.CLIENT_READ))]
Writer = Annotated[Principal, Depends(require(perm.CLIENT_WRITE))]


def _context(db: DbSession) -> dict[str, object]:
    return {"scope_names": SCOPES, "departments": org.list_departments(db), "algorithms": keys.ALGORITHMS}


@router.get("/clients", response_class=HTMLResponse)
def clients_page(request: Request, db: DbSession, _: Reader) -> HTMLResponse:
    return render(
        request,
        "identity/clients.html",
        _context(db) | {"items": clients.list_clients(db), "signing_keys": keys.list_keys(db)},
    )


@router.post("/clients", response_class=HTMLResponse)
def create_client(
    request: Request,
    db: DbSession,
    actor: Writer,
    _csrf: CsrfChecked,
    form: Annotated[Submission[ClientForm], Depends(ClientForm.submitted)],
) -> Response:
    """Register a client; the page then shows its secret, once."""
    data = form.build(lambda f: ClientCreate.model_validate(f.model_dump(exclude={"active"}) | f.uri_lists()))
    error = None
    if data is not None:
        try:
            created = clients.create_client(db, actor=actor, data=data)
            return render(request, "identity/client_secret.html", {"created": created})
        except AppError as exc:
            db.rollback()
            error = exc.message
    items = clients.list_clients(db)
    context = _context(db) | {"items": items, "signing_keys": keys.list_keys(db), "form": form}
    return render(request, "identity/clients.html", context | {"error_message": error}, status_code=422)


@router.get("/clients/{client}", response_class=HTMLResponse)
def client_page(request: Request, db: DbSession, client: str, _: Reader) -> HTMLResponse:
    return render(
        request, "identity/client_detail.html", _context(db) | {"client": clients.get_client(db, client_id=client)}
    )


@router.post("/clients/{client}", response_class=HTMLResponse)
def update_client(
    request: Request,
    db: DbSession,
    client: str,
    actor: Writer,
    _csrf: CsrfChecked,
    form: Annotated[Submission[ClientForm], Depends(ClientForm.submitted)],
) -> Response:
    """Change the registration, including enabling or disabling the client."""
    data = form.build(
        lambda f: ClientUpdate.model_validate(f.model_dump(exclude={"client_id", "public"}) | f.uri_lists())
    )
    if data is not None:
        clients.update_client(db, actor=actor, client_id=client, data=data)
        return RedirectResponse(f"/admin/oidc/clients/{client}?notice=saved", status_code=303)
    context = _context(db) | {"client": clients.get_client(db, client_id=client), "form": form}
    return render(request, "identity/client_detail.html", context, status_code=422)


@router.post("/clients/{client}/secret", response_class=HTMLResponse)
def rotate_secret(request: Request, db: DbSession, client: str, actor: Writer, _csrf: CsrfChecked) -> HTMLResponse:
    """A new secret, shown once; the old one stops working at once."""
    return render(
        request,
        "identity/client_secret.html",
        {"created": clients.rotate_secret(db, actor=actor, client_id=client)},
    )
