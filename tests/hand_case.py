"""A small hand-made week whose every published number is worked out by hand in the tests.

Week rated: [2026-11-13 00:00, 2026-11-20 00:00) Asia/Almaty (UTC+5). Comments next to the rows
say which rule each row exercises.
"""

from __future__ import annotations

REGISTRY = {
    "entities.csv": """
entity_id,level,name_ru,name_kk,parent_id,body_group,valid_from,valid_to
A,region,Акмолинская область,Ақмола облысы,,,,
B,region,г. Алматы,Алматы қаласы,,,,
C,region,область Ұлытау,Ұлытау облысы,,,2022-06-08,
OLD,region,Старая область,,,,,2022-06-07
D1,district,Абайский район,Абай ауданы,A,,,
D2,city,г. Косшы,Қосшы қаласы,A,,,
D3,district,Жанааркинский район,Жаңаарқа ауданы,C,,,
""",
    # A: the 2023 figure applies (the 2027 one is after the week); C: only a later figure
    # exists, so the earliest after the week applies.
    "populations.csv": """
entity_id,population,population_date
A,900000,2020-01-01
A,1000000,2023-01-01
A,1100000,2027-01-01
B,2000000,2023-01-01
C,200000,2027-01-01
OLD,10,2020-01-01
D1,20000,2023-01-01
D2,50000,2023-01-01
D3,30000,2023-01-01
""",
    "aliases.csv": """
entity_id,alias,lang
A,Акмолинская область,ru
A,Ақмола облысы,kk
A,акимат Акмолинской области,ru
A,Зеленый Бор,ru
B,Алматы,ru
B,Алматы қаласы,kk
C,Ұлытау облысы,kk
C,область Ұлытау,ru
""",
    "excluded_sources.csv": """
platform,source_id,reason
vk,paid1,paid_public
""",
    "pages.csv": """
page_id,platform,platform_page_id,entity_id,page_kind,url,owner_name,active_from,active_to
pA_ig,instagram,ig_a,A,official_region,https://instagram.com/akmola,,,
pA_vk,vk,vk_a,A,official_region,https://vk.com/akmola,,,
pB_tg,telegram,tg_b,B,official_region,https://t.me/almaty,,,
pC_fb,facebook,fb_c,C,official_region,https://facebook.com/ulytau,,,
pD1_ig,instagram,ig_d1,D1,official_district,,,,
pD2_vk,vk,vk_d2,D2,official_district,,,,
pD3_ok,ok,ok_d3,D3,official_district,,,,2026-11-01
ak1,instagram,ig_ak1,D1,akim_personal,,Ерлан Тестов,,
ak2,instagram,ig_ak2,D2,akim_personal,,Айгуль Тестова,,
ak3,instagram,ig_ak3,D3,akim_personal,,Марат Тестов,,
ak_vk,vk,vk_ak,D1,akim_personal,,Ерлан Тестов,,
""",
}

_SPAM = "\n".join(
    # 10 mentions over 10 sources: a mass sharer, all excluded
    f"vk,spam-{i},2026-11-15 12:00,Алматы,spam1,person,,s1{i},1,,,,positive,"
    for i in range(10)
)
_NEAR_SPAM = "\n".join(
    # 10 mentions over only 9 sources: not a mass sharer, all count for B (engagement 1 each)
    f"vk,near-{i},2026-11-15 12:00,Алматы,ns1,person,,s2{min(i, 8)},1,,,,neutral,"
    for i in range(10)
)

WEEK1_INBOX = {
    "mentions/2026-11-13_a.csv": """
platform,mention_id,published_at,text,author_id,author_type,author_audience,source_id,likes,comments,reposts,views,sentiment,entity_id
vk,m1,2026-11-14 10:00,Акимат Акмолинской области молодцы,a_p1,person,1000,s1,10,2,1,500,positive,
instagram,m2,2026-11-14 11:00,В АКМОЛИНСКАЯ ОБЛАСТЬ плохие дороги,a_p2,person,500,s2,5,,,,negative,
telegram,m3,2026-11-14 12:00,"Алматы и Ұлытау облысы, итоги",a_p3,person,300,s3,4,,4,,positive,
vk,m4,2026-11-15 09:00,Алматы жақсы,a_p1,person,2000,s1,1,,,,positive,
vk,m5,2026-11-15 09:00,Алматы,a_media,media,9000,s4,50,,,,positive,
vk,m6,2026-11-15 09:00,Алматы,a_p4,person,10,paid1,50,,,,positive,
vk,m7,2026-11-15 09:00,Алматыбай сказал,a_p5,person,10,s5,50,,,,positive,
ok,m8,2026-11-15 09:00,Алматы,a_p6,person,10,s6,50,,,,positive,D1
ok,m9,2026-11-15 09:00,ничего,a_p7,person,100,s7,,,,,negative,C
facebook,m10,2026-11-20T00:30:00+05:00,Алматы,a_p8,person,10,s8,50,,,,positive,
facebook,m11,2026-11-12T19:30:00Z,Алматы,a_p8,person,10,s8,2,,,,neutral,
facebook,m12,2026-11-13T00:30:00+06:00,Алматы,a_p9,person,10,s9,50,,,,positive,
vk,dup,2026-11-16 10:00,Алматы,a_p10,person,50,s10,100,,,,positive,
ok,m15,2026-11-16 10:00,Курорт Зелёный Бор открыт,a_p11,person,10,s11,7,,,,neutral,
telegram,tg-spam1,2026-11-16 10:00,Алматы,spam1,person,,,0,,,,neutral,
""",
    "mentions/2026-11-13_b_spam.csv": """
platform,mention_id,published_at,text,author_id,author_type,author_audience,source_id,likes,comments,reposts,views,sentiment,entity_id
""" + _SPAM + "\n" + _NEAR_SPAM + "\n",
    # later file (byte order of names): this copy of `dup` wins
    "mentions/2026-11-13_c_correction.jsonl": (
        '{"platform": "vk", "mention_id": "dup", "published_at": "2026-11-16T10:00:00", '
        '"text": "Алматы", "author_id": "a_p10", "author_type": "person", '
        '"author_audience": 50, "source_id": "s10", "likes": 3, "sentiment": "positive"}\n'
    ),
    # two bad rows (lines 2 and 3) are quarantined; the run still publishes
    "mentions/2026-11-13_d_bad.csv": """
platform,mention_id,published_at,text,author_id,author_type,sentiment
vk,bad1,not-a-date,Алматы,x1,person,positive
vk,bad2,2026-11-15 09:00,Алматы,x2,person,happy
""",
    "page_snapshots/2026-11-13_a.csv": """
platform,platform_page_id,captured_at,subscribers,bot_share,engaged_users_7d
instagram,ig_a,2026-11-10 12:00,5000,,
instagram,ig_a,2026-11-20 10:00,5200,,
instagram,ig_a,2026-11-21 00:00,9999,,
vk,vk_a,2026-10-22 23:00,800,,
telegram,tg_b,2026-11-15 00:00,10000,,
facebook,fb_c,2026-11-01 00:00,0,,
instagram,ig_d1,2026-11-12 00:00,1000,,
vk,vk_d2,2026-11-19 00:00,1000,,
ok,ok_d3,2026-11-19 00:00,99999,,
instagram,ig_ak1,2026-11-18 00:00,2000,0.5,40
instagram,ig_ak2,2026-11-19 00:00,1000,0.2,50
instagram,ig_ak3,2026-11-17 00:00,300,,
""",
    # same capture of tg_b loaded later: it wins (10100)
    "page_snapshots/2026-11-13_b.json": (
        '[{"platform": "telegram", "platform_page_id": "tg_b", '
        '"captured_at": "2026-11-15T00:00:00+05:00", "subscribers": 10100}]'
    ),
    "page_posts/2026-11-13.csv": """
platform,platform_page_id,post_id,published_at,captured_at,likes,comments,reposts,views
instagram,ig_a,a1,2026-11-14 09:00,2026-11-15 09:00,10,0,0,100
instagram,ig_a,a1,2026-11-14 09:00,2026-11-20 12:00,50,5,0,900
instagram,ig_a,a1,2026-11-14 09:00,2026-11-21 01:00,100,0,0,2000
instagram,ig_a,a2,2026-11-06 09:00,2026-11-14 09:00,30,0,0,
instagram,ig_a,a3,2026-11-19 23:59:59,2026-11-20 00:00,5,0,0,
vk,vk_a,v1,2026-11-16 09:00,2026-11-17 09:00,7,3,2,
telegram,tg_b,t1,2026-11-18 09:00,2026-11-19 09:00,20,,10,
facebook,fb_c,f1,2026-11-14 09:00,2026-11-15 09:00,3,,,
instagram,ig_d1,d1p,2026-11-15 09:00,2026-11-16 09:00,10,10,0,
ok,ok_d3,d3p,2026-11-15 09:00,2026-11-16 09:00,500,0,0,
""",
    "post_interactions/2026-11-13.csv": """
platform,platform_page_id,post_id,user_id,kind,at
instagram,ig_ak1,x,u1,like,2026-11-14T10:00:00
instagram,ig_ak1,x,u1,comment,2026-11-15T10:00:00
instagram,ig_ak1,y,u2,like,2026-11-16T10:00:00
instagram,ig_ak1,y,u3,like,2026-11-20T00:00:00
instagram,ig_ak2,z,u4,like,2026-11-10T10:00:00
""",
    # ig_ak1: an older audit (all bots) is replaced by the latest one: 3 bots of 4
    "follower_audits/2026-11-13.csv": """
platform,platform_page_id,captured_at,follower_id,username,has_avatar,posts_count,followers_count,following_count
instagram,ig_ak1,2026-09-01 00:00,o1,bot000001,false,0,0,5000
instagram,ig_ak1,2026-09-01 00:00,o2,bot000002,false,0,0,5000
instagram,ig_ak1,2026-11-10 00:00,f1,aigerim,false,0,,
instagram,ig_ak1,2026-11-10 00:00,f2,dana,true,5,100,2000
instagram,ig_ak1,2026-11-10 00:00,f3,user123456,false,3,5,10
instagram,ig_ak1,2026-11-10 00:00,f4,ivan,,,0,0
""",
}

# Expected rows of week 1, worked out by hand from the rows above (see tests/test_weekly_dag.py).
PEOPLE = {
    # unit: (mentions, engagement, per 1k pop, sentiment net, places x4, penalty, final)
    # A: m1 (13), m2 (5), m15 via "Зелёный Бор" (7); net 1000 (a_p1) - 500 (a_p2)
    "A": (3, 25, 0.025, 500, (2, 1, 2, 2), 7.0, 1),
    # B: m3 (8), m4 (1), m11 (2, 19:30Z = 00:30 local), dup (3, the later copy),
    # 10 near-spam (10), spam1 on telegram (0); net 300 (a_p3) + 2000 (a_p1 max) + 50 (a_p10)
    "B": (15, 24, 0.012, 2350, (1, 2, 3, 1), 7.0, 1),
    # C: m3 (8) by alias, m9 (0) by entity_id; net 300 - 100; population from 2027 (only one)
    "C": (2, 8, 0.04, 200, (3, 3, 1, 3), 10.0, 3),
}
REGION_PAGES = {
    # unit: (subscribers, engagement, er %, per 1k pop, places x4, penalty, final)
    "pA_ig": (5200, 60, 1.153846, 0.06, (2, 1, 1, 1), 5.0, 1),
    "pA_vk": (None, 12, None, 0.012, (4, 3, 3, 4), 14.0, 4),
    "pB_tg": (10100, 30, 0.29703, 0.015, (1, 2, 2, 2), 7.0, 2),
    "pC_fb": (0, 3, None, 0.015, (3, 4, 3, 2), 12.0, 3),
}
DISTRICT_PAGES = {
    "pD1_ig": (1000, 20, 2.0, 1.0, (1, 1, 1, 1), 4.0, 1),
    "pD2_vk": (1000, 0, 0.0, 0.0, (1, 2, 2, 2), 7.0, 2),
}
INSTA_AKIMS = {
    # unit: (real subscribers, engaged users, er real %, places x3, penalty, final, bot share,
    #        bots unverified)
    "ak1": (500.0, 2, 0.4, (2, 2, 2), 6.0, 2, 0.75, False),
    "ak2": (800.0, 50, 6.25, (1, 1, 1), 3.0, 1, 0.2, False),
    "ak3": (300.0, None, None, (3, 3, 3), 9.0, 3, 0.0, True),
}

# Why mentions did not count (marts.rating_people_weekly_exclusions), worked out by hand; each
# mention once, under its first failing rule (METHODOLOGY §1).
PEOPLE_EXCLUSIONS_WEEK1 = {
    # the loads that brought a mention of the week: files a (15 mentions), b_spam (20) and
    # c_correction (dup again); d_bad was quarantined whole
    "delivered": 35,
    # m10 (2026-11-20 00:30 local, the next week) and m12 (2026-11-12 23:30 local)
    "outside_week": 2,
    "not_person": 1,  # m5 (media)
    "excluded_source": 1,  # m6 (vk paid1)
    "spam_author": 10,  # spam1's 10 mentions over 10 sources on vk
    "eligible": 21,  # 35 - 2 - 1 - 1 - 10
    # m7 («Алматыбай» is not the whole word «Алматы»), m8 (entity_id D1 is not a rated region)
    "not_tied": 2,
    "tied": 19,  # A 3, B 15, C 2, m3 counted for both B and C
    "unit_mentions": 20,  # = 3 + 15 + 2, the sum of P1
}
# Week 2 is delivered by file a (m10 is its only mention of week 2) and the week-2 file (w2-1).
PEOPLE_EXCLUSIONS_WEEK2 = {
    "delivered": 16, "outside_week": 14, "not_person": 0, "excluded_source": 0,
    "spam_author": 0, "eligible": 2, "not_tied": 0, "tied": 2, "unit_mentions": 2,
}
