SAMPLES = {
    "calendar/list": [{"items": [{"title": "服务队伍名单报送（附件1）", "due": "4月30日", "days": 0, "workdays": 0,
                                  "action": "x"},
                                 {"title": "优秀工作者推荐（附件3）", "due": "10月31日", "days": 12, "workdays": 9,
                                  "action": "x"}]},
                      {"items": []}],
    "calendar/reminder": [{"title": "服务队伍名单报送（附件1）", "due": "4月30日", "workdays": 3,
                           "action": "请用 /登记 完成名单"},
                          {"title": "服务队伍名单报送（附件1）", "due": "4月30日", "workdays": 0, "action": "请报送"}],
}
