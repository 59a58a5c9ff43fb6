SAMPLES = {
    "calendar/list": [
        {
            "items": [
                {"title": "服务队伍名单报送（附件1）", "due": "4月30日", "days": 0, "workdays": 0, "action": "x"},
                {"title": "优秀工作者推荐（附件3）", "due": "10月31日", "days": 12, "workdays": 9, "action": "x"},
            ],
            "progress": [],
            "holidays": "",
        },
        {"items": [], "progress": [], "holidays": ""},
        {
            "items": [],
            "progress": [
                {"title": "名单报送", "due": "4月30日", "done": 7, "total": 11, "unit": "个市", "done_unit": "个"}
            ],
            "holidays": "2027 年还没有节假日数据",
        },
    ],
}
