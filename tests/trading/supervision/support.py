"""Seeding for the supervision tests: a small waiting trade and the bids, events, bonds and contacts of its bidders."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.access import SYSTEM, Actor
from persistence.models_alerts import Alert
from persistence.models_bids import Bid, BidEvent
from persistence.models_deposits import Deposit
from persistence.models_entities import Organisation, OrganisationContact
from persistence.models_gp_offers import GpOffer
from services import definitions, instances
from services.platform import Platform
from trading.uscc import check_character

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 23, 10, 0, tzinfo=TZ)
REGION = "330100"

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:ggzy="urn:ggzy:bpmn"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:supervision">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="wait" name="办理" camunda:candidateGroups="staff"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def uscc(n: int) -> str:
    body = f"91330100{n:09d}"
    return body + check_character(body)


A, B, C, D = uscc(101), uscc(102), uscc(103), uscc(104)


def staff(region: str | None = REGION) -> Actor:
    return Actor("supervision-staff", frozenset({"staff"}), region)


def trade(platform: Platform, key: str = "screen_trade", business_key: str = "S-1") -> str:
    """A running trade of a small process (its key decides which law the findings cite)."""
    definitions.deploy_bytes(platform, BPMN.replace("{key}", key).encode(), SYSTEM)
    platform.clock.set(NOW)
    view, _ = instances.start(platform, staff(None), key, business_key, {}, region=REGION)
    return str(view["id"])


def add_bid(platform: Platform, instance_id: str, org: str, *, sha: str | None = None, plain: str | None = None,
            device: str | None = None, ip: str | None = None, status: str = "decrypted", lot: str = "1") -> str:
    with platform.db.unit_of_work() as session:
        bid = Bid(id=secrets.token_hex(16), instance_id=instance_id, lot=lot, bidder_org=org, status=status,
                  receipt_no=secrets.token_hex(8), storage_key=secrets.token_hex(8),
                  sha256=sha or secrets.token_hex(32), size=1000, received_at=NOW - timedelta(days=1),
                  submitted_by=f"user-{org}", decrypt_attempts=0, plain_sha256=plain or secrets.token_hex(32))
        session.add(bid)
        session.flush()
        session.add(BidEvent(bid_id=bid.id, instance_id=instance_id, type="uploaded", at=NOW - timedelta(days=1),
                             actor=f"user-{org}", bidder_org=org, client_ip=ip,
                             device_fingerprint=device or f"fp-{org}", data={}))
        return bid.id


def add_deposit(platform: Platform, instance_id: str, org: str, account: str, lot: str = "1") -> None:
    with platform.db.unit_of_work() as session:
        session.add(Deposit(instance_id=instance_id, lot=lot, bidder_uscc=org, bidder_name=f"公司{org[-4:]}",
                            amount=Decimal("20000.00"), payer_account_no=account, payer_bank="银行",
                            payer_account_name=f"公司{org[-4:]}", is_basic_account=True,
                            bank_reference=secrets.token_hex(6), paid_at=NOW - timedelta(days=2),
                            recorded_by="staff", status="held", updated_at=NOW))


def add_contact(platform: Platform, org: str, phone: str | None = None, email: str | None = None) -> None:
    with platform.db.unit_of_work() as session:
        if session.get(Organisation, org) is None:
            session.add(Organisation(uscc=org, name=f"投标公司{org[-4:]}", region=REGION, roles=["bidder"],
                                     created_at=NOW, updated_at=NOW))
            session.flush()
        session.add(OrganisationContact(uscc=org, name="联系人", phone=phone, email=email, created_at=NOW))


def add_offer(platform: Platform, instance_id: str, org: str, amount: str, round_no: int = 1,
              ip: str | None = None) -> None:
    with platform.db.unit_of_work() as session:
        session.add(GpOffer(instance_id=instance_id, lot="1", round=round_no, supplier_uscc=org,
                            supplier_name=f"供应商{org[-4:]}", amount=Decimal(amount), submitted_at=NOW,
                            submitted_by=f"user-{org}", client_ip=ip))


def alerts_of(platform: Platform, kind_prefix: str = "", instance_id: str | None = None) -> list[dict[str, Any]]:
    from services.trading.alerts import view

    with platform.db.sessions() as session:
        query = select(Alert).where(Alert.kind.like(kind_prefix + "%")).order_by(Alert.id)
        if instance_id:
            query = query.where(Alert.instance_id == instance_id)
        return [view(a) for a in session.scalars(query)]
