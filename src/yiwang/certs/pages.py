"""Pages of 电子证照: the public verification page, the holder's wallet, a certificate with its QR code."""

from typing import Annotated

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from yiwang.certs import service
from yiwang.core.db import DbSession
from yiwang.core.errors import AppError
from yiwang.core.runtime import CertificateSigningDep
from yiwang.core.security import CurrentUser, public
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)


def verification_url(request: Request, identifier: str) -> str:
    return str(request.url_for("certs_verify_page", identifier=identifier))


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code (segno) leading to the verification page."""
    svg = segno.make(url, error="m").svg_inline(scale=4, dark="#1f2937", title="电子证照核验二维码")
    return Markup(svg)  # noqa: S704  (segno's own SVG of a URL we built)


@router.get("/certs/verify", response_class=HTMLResponse)
@public
def verify_form(request: Request, identifier: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """Anyone can check a certificate by its identifier."""
    if identifier:
        return RedirectResponse(f"/certs/verify/{identifier.strip()}", status_code=303)
    return render(request, "certs/verify.html", {"result": None})


@router.get("/certs/verify/{identifier}", response_class=HTMLResponse, name="certs_verify_page")
@public
def verify_page(request: Request, identifier: str, db: DbSession, signing: CertificateSigningDep) -> HTMLResponse:
    try:
        result = service.verify(db, signing=signing, identifier=identifier)
    except AppError as exc:
        return render(
            request,
            "certs/verify.html",
            {"result": None, "error_message": exc.message, "identifier": identifier},
            status_code=exc.status_code,
        )
    return render(request, "certs/verify.html", {"result": result, "identifier": identifier})


@router.get("/certs/wallet", response_class=HTMLResponse)
def wallet_page(request: Request, db: DbSession, user: CurrentUser) -> HTMLResponse:
    assert user.user_id is not None
    return render(
        request,
        "certs/wallet.html",
        {
            "certificates": service.wallet(db, holder_user_id=user.user_id),
            "uses": service.list_uses(db, holder_user_id=user.user_id),
        },
    )


@router.get("/certs/view/{identifier}", response_class=HTMLResponse)
def certificate_page(request: Request, identifier: str, db: DbSession, user: CurrentUser) -> HTMLResponse:
    cert = service.get_certificate(db, actor=user, identifier=identifier)
    url = verification_url(request, cert.identifier)
    return render(request, "certs/certificate.html", {"cert": cert, "qr": qr_svg(url), "verify_url": url})


@router.get("/certs/log", response_class=HTMLResponse)
@public
def log_page(request: Request, db: DbSession, signing: CertificateSigningDep) -> HTMLResponse:
    """The transparency log's latest checkpoint and how to check it."""
    return render(
        request,
        "certs/log.html",
        {
            "cp": service.checkpoint(db, signing=signing),
            "logs": service.transparency_logs(db, signing=signing),
            "figures": service.counts(db),
        },
    )
